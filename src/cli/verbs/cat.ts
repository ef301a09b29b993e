import { pathArg, type Verb, type VerbContext } from '../verb.js';

export const catVerb: Verb = {
  takes: 'image',
  usage: 'cat IMAGE PATH',
  summary: 'a file of the merged view',
  run: cat,
};

async function cat(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const data = ov.readFileSync(pathArg(ctx)) as Buffer;
  ctx.io.stdout(data); // the bytes as they are, not re-encoded
}

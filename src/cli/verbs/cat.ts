import { lookingUp, pathArg, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const catVerb: Verb = {
  takes: 'image',
  usage: 'cat IMAGE PATH',
  summary: 'the bytes of one file of the merged view, as they are (a symlink is followed inside the image)',
  options: { ...REF_FLAGS },
  maxPositionals: 2,
  notes: ['--json is accepted and changes nothing: the output is the file.'],
  run: cat,
};

async function cat(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const path = pathArg(ctx);
  const data = lookingUp(path, () => ov.readFileSync(path) as Buffer);
  ctx.io.stdout(data); // the bytes as they are, not re-encoded
}

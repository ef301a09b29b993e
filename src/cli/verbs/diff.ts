import { layerChanges } from '../layer-changes.js';
import { bytes, paint } from '../io.js';
import { emitJson, out, short, type Verb, type VerbContext } from '../verb.js';

export const diffVerb: Verb = {
  takes: 'image',
  usage: 'diff IMAGE',
  summary: 'what each layer adds (A), changes (C), deletes (D) or makes opaque (O)',
  run: diff,
};

async function diff(ctx: VerbContext): Promise<void> {
  const changes = layerChanges(ctx.image);
  if (ctx.json) return emitJson(ctx, changes.map((c, i) => ({ layer: i, digest: ctx.image.layers[i]!.digest, changes: c })));
  const mark: Record<string, string> = { added: paint(ctx.io, 32, 'A'), changed: paint(ctx.io, 33, 'C'), deleted: paint(ctx.io, 31, 'D'), opaque: paint(ctx.io, 35, 'O') };
  const lines: string[] = [];
  changes.forEach((c, i) => {
    lines.push(`L${i} ${short(ctx.image.layers[i]!.digest)}  ${ctx.image.createdBy(i) ?? ''}`);
    for (const ch of c) lines.push(`  ${mark[ch.kind]} ${ch.path}${ch.type === 'directory' ? '/' : ''}${ch.size ? `  (${bytes(ch.size)})` : ''}`);
  });
  out(ctx, lines.join('\n'));
}

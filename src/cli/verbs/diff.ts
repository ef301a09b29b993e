import { layerChanges } from '../layer-changes.js';
import { bytes, paint } from '../io.js';
import { emitJson, out, short, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const diffVerb: Verb = {
  takes: 'image',
  usage: 'diff IMAGE',
  summary: 'what each layer adds (A), changes (C), deletes (D) or makes opaque (O)',
  options: { ...REF_FLAGS },
  maxPositionals: 1,
  notes: ['--json: a list of layers {layer, digest, createdBy, changes}; each change is {path, kind (added, changed, deleted, opaque), type, size} (docs/cli.md).'],
  content: 'none',
  run: diff,
};

async function diff(ctx: VerbContext): Promise<void> {
  const changes = layerChanges(ctx.image);
  if (ctx.json) {
    return emitJson(ctx, changes.map((c, i) => ({ layer: i, digest: ctx.image.layers[i]!.digest, createdBy: ctx.image.createdBy(i) ?? null, changes: c.map((ch) => ({ path: ch.path, kind: ch.kind, type: ch.type ?? null, size: ch.size })) })));
  }
  const mark: Record<string, string> = { added: paint(ctx.io, 32, 'A'), changed: paint(ctx.io, 33, 'C'), deleted: paint(ctx.io, 31, 'D'), opaque: paint(ctx.io, 35, 'O') };
  const lines: string[] = [];
  changes.forEach((c, i) => {
    lines.push(`L${i} ${short(ctx.image.layers[i]!.digest)}  ${ctx.image.createdBy(i) ?? ''}`);
    for (const ch of c) lines.push(`  ${mark[ch.kind]} ${ch.path}${ch.type === 'directory' ? '/' : ''}${ch.size ? `  (${bytes(ch.size)})` : ''}`);
  });
  out(ctx, lines.join('\n'));
}

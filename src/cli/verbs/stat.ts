import { entryJson } from '../entry-json.js';
import { emitJson, layerName, lookingUp, out, pathArg, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const statVerb: Verb = {
  takes: 'image',
  usage: 'stat IMAGE PATH',
  summary: 'metadata of a path in the merged view (a symlink itself, not what it points to)',
  options: { ...REF_FLAGS },
  maxPositionals: 2,
  notes: ['--json: one entry {path, type, mode, uid, gid, size, nlink, mtime, layer, shadowed, target} (docs/cli.md).'],
  content: 'none',
  run: stat,
};

async function stat(ctx: VerbContext): Promise<void> {
  const path = pathArg(ctx);
  const e = lookingUp(path, () => entryJson(ctx.image.overlay(), path));
  if (ctx.json) return emitJson(ctx, e);
  const shown = { ...e, layer: layerName(e.layer), shadowed: e.shadowed.map((s) => `L${s}`).join(',') || '-', target: e.target ?? '-' };
  out(ctx, Object.entries(shown).map(([k, x]) => `${k.padEnd(8)} ${x}`).join('\n'));
}

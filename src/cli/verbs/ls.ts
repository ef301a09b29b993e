import { displayName, entryJson } from '../entry-json.js';
import { table } from '../io.js';
import { emitJson, layerName, lookingUp, out, pathArg, type Verb, type VerbContext } from '../verb.js';

export const lsVerb: Verb = {
  takes: 'image',
  usage: 'ls IMAGE [PATH]',
  summary: 'one directory of the merged view (/ by default), with the layer each entry comes from and the layers it shadows (L2>L0)',
  maxPositionals: 2,
  notes: ['--json: a list of entries {path, name, type, mode, uid, gid, size, nlink, mtime, layer, shadowed, target} (docs/cli.md).'],
  content: 'none',
  run: ls,
};

async function ls(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const dir = ctx.args[0] ? pathArg(ctx) : '/';
  const rows = lookingUp(dir, () => ov.readdirSync(dir)).map((name) => ({ name, ...entryJson(ov, dir === '/' ? `/${name}` : `${dir}/${name}`) }));
  if (ctx.json) return emitJson(ctx, rows);
  out(ctx, table([['MODE', 'OWNER', 'SIZE', 'LAYER', 'NAME'], ...rows.map((r) => [r.mode, `${r.uid}:${r.gid}`, String(r.size), layerName(r.layer) + (r.shadowed.length ? `>${r.shadowed.map((s) => `L${s}`).join(',')}` : ''), displayName(r.name, r)])]));
}

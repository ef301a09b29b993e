import { table } from '../io.js';
import { emitJson, layerName, out, pathArg, type Verb, type VerbContext } from '../verb.js';

export const lsVerb: Verb = {
  takes: 'image',
  usage: 'ls IMAGE [PATH]',
  summary: 'one directory of the merged view, with the layer each entry comes from',
  run: ls,
};

async function ls(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const dir = ctx.args[0] ? pathArg(ctx) : '/';
  const rows = ov.readdirSync(dir).map((name) => {
    const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = ov.lstatSync(p);
    const w = ov.whereIs(p);
    return { name, path: p, mode: (st.mode & 0o7777).toString(8), type: w.type, size: st.size, owner: `${st.uid}:${st.gid}`, layer: w.provider ?? null, shadowed: w.shadowed };
  });
  if (ctx.json) return emitJson(ctx, rows);
  out(ctx, table([['MODE', 'OWNER', 'SIZE', 'LAYER', 'NAME'], ...rows.map((r) => [r.mode, r.owner, String(r.size), layerName(r.layer ?? undefined) + (r.shadowed.length ? `>${r.shadowed.map((s) => `L${s}`).join(',')}` : ''), r.type === 'directory' ? `${r.name}/` : r.name])]));
}

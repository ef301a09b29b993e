import { emitJson, out, pathArg, type Verb, type VerbContext } from '../verb.js';

export const statVerb: Verb = {
  takes: 'image',
  usage: 'stat IMAGE PATH',
  summary: 'metadata of a path in the merged view',
  run: stat,
};

async function stat(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const p = pathArg(ctx);
  const st = ov.lstatSync(p);
  const w = ov.whereIs(p);
  const v = { path: p, type: w.type, mode: st.mode.toString(8), uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, mtime: st.mtime.toISOString(), layer: w.provider ?? null, ...(st.isSymbolicLink() ? { target: ov.readlinkSync(p) } : {}) };
  if (ctx.json) return emitJson(ctx, v);
  out(ctx, Object.entries(v).map(([k, x]) => `${k.padEnd(6)} ${x}`).join('\n'));
}

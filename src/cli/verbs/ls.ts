import type { Overlay } from '../../export/overlay.js';
import { displayName, entryJson } from '../entry-json.js';
import { table } from '../io.js';
import { emitJson, layerName, lookingUp, out, pathArg, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const lsVerb: Verb = {
  takes: 'image',
  usage: 'ls IMAGE [PATH]',
  summary: 'one directory of the merged view (/ by default), with the layer each entry comes from and the layers it shadows (L2>L0)',
  options: { ...REF_FLAGS },
  maxPositionals: 2,
  notes: ['--json: a list of entries {path, name, type, mode, uid, gid, size, nlink, mtime, layer, shadowed, target} (docs/cli.md).'],
  content: 'none',
  run: ls,
};

async function ls(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const dir = ctx.args[0] ? pathArg(ctx) : '/';
  // GNU ls: a PATH that is not a directory, or a symlink to one, is listed as that one entry,
  // named as given (a symlink to a file, or to nothing, as itself: `ls -l link` prints
  // `link -> target`). A trailing slash asks for a directory, as path resolution does.
  const rows = lookingUp(dir, () => listsItself(ov, dir))
    ? [{ name: ctx.args[0]!, ...entryJson(ov, dir) }]
    : lookingUp(dir, () => ov.readdirSync(dir)).map((name) => ({ name, ...entryJson(ov, dir === '/' ? `/${name}` : `${dir}/${name}`) }));
  if (ctx.json) return emitJson(ctx, rows);
  out(ctx, table([['MODE', 'OWNER', 'SIZE', 'LAYER', 'NAME'], ...rows.map((r) => [r.mode, `${r.uid}:${r.gid}`, String(r.size), layerName(r.layer) + (r.shadowed.length ? `>${r.shadowed.map((s) => `L${s}`).join(',')}` : ''), displayName(r.name, r)])]));
}

/** True if `path` is listed as itself: it is there and is not a directory or a symlink that leads to one. */
function listsItself(ov: Overlay, path: string): boolean {
  if (path.endsWith('/')) return false;
  const st = ov.lstatSync(path);
  if (st.isDirectory()) return false;
  if (!st.isSymbolicLink()) return true;
  try {
    return !ov.statSync(path).isDirectory();
  } catch (e) {
    // A link to nothing, through a file, or in a loop is listed, as GNU ls lists it.
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes((e as NodeJS.ErrnoException).code ?? '')) return true;
    throw e;
  }
}

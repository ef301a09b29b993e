import { major, minor } from '../../src/layer/device.js';
import { pack as tarPack } from 'tar-stream';
import type { Layer } from '../../src/index.js';

/**
 * Writes a layer as an OCI layer tarball (layer.md): whiteout and opaque markers first, then
 * the entries parents first, hard links as typeflag 1. For tests that
 * hold the tar path to the same oracle as memory layers.
 */
export async function layerToTar(layer: Layer): Promise<Buffer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  // Markers first, as layer.md recommends writers do (readers must accept any order).
  const marker = (path: string) => pack.entry({ name: path, type: 'file', mode: 0o644, mtime: new Date(0) }, Buffer.alloc(0));
  for (const d of layer.opaqueDirs) marker(`${d === '/' ? '.' : `.${d}`}/.wh..wh..opq`);
  for (const w of layer.whiteouts) {
    const i = w.lastIndexOf('/');
    marker(`.${w.slice(0, i)}/.wh.${w.slice(i + 1)}`);
  }
  const firstOfInode = new Map<number, string>();
  const rel = (p: string) => (p === '/' ? './' : `.${p}`);
  for (const [p, e] of layer.entries) {
    if (e.implicit) continue; // implicit parents are left out, as umoci does
    const base = { name: rel(p) + (e.type === 'directory' && p !== '/' ? '/' : ''), mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date(e.mtimeMs) };
    const pax = e.xattrs.size > 0 ? { pax: Object.fromEntries([...e.xattrs].map(([k, v]) => [`SCHILY.xattr.${k}`, v.toString()])) } : {};
    switch (e.type) {
      case 'directory': pack.entry({ ...base, ...pax, type: 'directory' }); break;
      case 'symlink': pack.entry({ ...base, ...pax, type: 'symlink', linkname: e.linkTarget! }); break;
      case 'file': {
        const first = firstOfInode.get(e.inode);
        if (first !== undefined) pack.entry({ ...base, type: 'link', linkname: rel(first) });
        else {
          firstOfInode.set(e.inode, p);
          pack.entry({ ...base, ...pax, type: 'file' }, layer.read(e));
        }
        break;
      }
      default: {
        const type = e.type === 'char' ? 'character-device' : e.type === 'block' ? 'block-device' : 'fifo';
        pack.entry({ ...base, type, devmajor: major(e.rdev), devminor: minor(e.rdev) } as never);
      }
    }
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

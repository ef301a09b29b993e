import type { ContentRef, EntrySpec, LayerEntry } from './entry.js';
import { defaultMode } from './entry.js';
import { LayerError } from './layer-error.js';

/** Shared by every entry without extended attributes (entries are read-only). */
const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();

/**
 * One immutable index entry from a spec: its size (a file's content is stored once per inode
 * in `content`), xattrs as bytes, the mode a Linux file of its type has.
 */
export function makeEntry(layerName: string, path: string, spec: EntrySpec, inode: number, implicit: boolean, nlink: number, content: Map<number, Buffer | ContentRef>): LayerEntry {
  const type = spec.type;
  let size = 0;
  if (type === 'file') {
    // A file of one link is its inode's only name: nothing can be stored for it yet.
    let data = nlink > 1 ? content.get(inode) : undefined;
    if (!data) {
      data = typeof spec.content === 'string' ? Buffer.from(spec.content) : spec.content ?? Buffer.alloc(0);
      content.set(inode, data);
    }
    size = Buffer.isBuffer(data) ? data.length : data.size;
  } else if (type === 'symlink') {
    if (!spec.linkTarget) throw new LayerError(layerName, path, 'symlink without a target');
    size = Buffer.byteLength(spec.linkTarget);
  } else if (spec.content !== undefined && (Buffer.isBuffer(spec.content) || typeof spec.content === 'string' ? spec.content.length : spec.content.size) > 0) {
    throw new LayerError(layerName, path, `a ${type} cannot have content`);
  }
  let xattrs: ReadonlyMap<string, Buffer> = NO_XATTRS;
  if (spec.xattrs) {
    const own = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(spec.xattrs)) own.set(k, typeof v === 'string' ? Buffer.from(v) : v);
    if (own.size > 0) xattrs = own;
  }
  const mtimeMs = spec.mtimeMs ?? 0;
  // A symlink's permission bits are 0777 on Linux whatever the archive says: symlink(2)
  // creates it so, and nothing can change them (no lchmod; fchmodat refuses
  // AT_SYMLINK_NOFOLLOW with EOPNOTSUPP).
  const mode = type === 'symlink' ? 0o777 : (spec.mode ?? defaultMode(type)) & 0o7777;
  // Two literal shapes rather than a spread: every entry of a kind shares one hidden class.
  const entry: LayerEntry = type === 'symlink'
    ? { type, mode, uid: spec.uid ?? 0, gid: spec.gid ?? 0, mtimeMs, atimeMs: spec.atimeMs ?? mtimeMs, size, rdev: spec.rdev ?? 0, xattrs, inode, nlink, implicit, linkTarget: spec.linkTarget! }
    : { type, mode, uid: spec.uid ?? 0, gid: spec.gid ?? 0, mtimeMs, atimeMs: spec.atimeMs ?? mtimeMs, size, rdev: spec.rdev ?? 0, xattrs, inode, nlink, implicit };
  return Object.freeze(entry);
}

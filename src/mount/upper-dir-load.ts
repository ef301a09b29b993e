import { Volume } from 'memfs';
import { statSync } from 'node:fs';
import { DirectoryLayer } from '../layer/directory-layer.js';
import type { LayerEntry } from '../layer/entry.js';
import { Upper } from '../overlay/upper.js';
import type { MemfsLink, MemfsNode } from '../util/memfs-types.js';
import { MountError } from './mount-error.js';
import { DirHandle } from '../host/dir-handle.js';

/**
 * An upper directory in the kernel's on-disk format (overlayfs.rst, "whiteouts and opaque
 * directories": a 0/0 character device is a whiteout, `trusted.overlay.opaque=y` an opaque
 * directory) read into the memfs form the engine's upper layer holds (upper.ts: `.wh.` names
 * and `.wh..wh..opq` markers): what a later mount over the same upperdir starts from.
 *
 * It is read by the same walk as a lower DirectoryLayer (by descriptor, nothing in it followed,
 * its xattrs exact, hard links kept as one inode), its content read into memory once: the
 * engine's upper layer is memory, kept in step with the directory by upper-dir-mirror.ts.
 */
export interface LoadedUpper {
  volume: Volume;
  /** The xattrs of each node (the engine keeps them beside memfs: Upper#xattrs); applied by `applyXattrs`. */
  readonly xattrs: ReadonlyArray<[MemfsNode, Map<string, Buffer>]>;
  /** Each redirected directory's lower path, absolute (Upper#redirects' form), from its trusted.overlay.redirect. */
  readonly redirects: ReadonlyArray<[MemfsNode, string]>;
}

export function loadUpperDir(path: string): LoadedUpper {
  let layer: DirectoryLayer;
  try {
    layer = DirectoryLayer.open(path, { name: `upperdir ${path}`, upper: true });
  } catch (e) {
    throw new MountError('ERR_MOUNT_FAILED', `upperdir=${path}: cannot be read as an overlay upper directory: ${(e as Error).message}`, { cause: e });
  }
  try {
    return build(layer, path);
  } finally {
    layer.close();
  }
}

function build(layer: DirectoryLayer, path: string): LoadedUpper {
  const volume = new Volume();
  const upper = new Upper(volume);
  const xattrs: Array<[MemfsNode, Map<string, Buffer>]> = [];
  const byInode = new Map<number, MemfsLink>();
  const links = new Map<string, MemfsLink>([['/', upper.root]]);
  const parentOf = (p: string) => links.get(p.slice(0, p.lastIndexOf('/')) || '/')!;
  const nameOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const keep = (node: MemfsNode, e: LayerEntry) => {
    if (e.xattrs.size > 0) xattrs.push([node, new Map(e.xattrs)]);
  };
  // Parents before children: the walk's paths, sorted, put each directory before what is in it.
  const paths = [...layer.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const p of paths) {
    const e = layer.entries.get(p)!;
    const meta = { mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs, atimeMs: e.atimeMs };
    if (p === '/') {
      const node = upper.root.getNode();
      node.mode = (node.mode & ~0o7777) | (e.mode & 0o7777);
      node.uid = e.uid;
      node.gid = e.gid;
      node.atime = new Date(e.atimeMs);
      node.mtime = new Date(e.mtimeMs);
      keep(node, e);
      continue;
    }
    const dir = parentOf(p);
    const first = e.type === 'file' ? byInode.get(e.inode) : undefined;
    if (first) {
      links.set(p, upper.attach(dir, nameOf(p), first));
      continue;
    }
    const content = e.type === 'file' && e.size > 0 ? layer.read(e) : undefined;
    const link = upper.create(dir, nameOf(p), e.type, meta, {
      ...(e.linkTarget !== undefined ? { target: e.linkTarget } : {}),
      ...(e.type === 'char' || e.type === 'block' ? { rdev: e.rdev } : {}),
      ...(content ? { content: { buf: content, size: content.length } } : {}),
    });
    links.set(p, link);
    if (e.type === 'file') byInode.set(e.inode, link);
    keep(link.getNode(), e);
  }
  for (const w of layer.whiteouts) {
    const dir = links.get(w.slice(0, w.lastIndexOf('/')) || '/');
    if (!dir) throw new MountError('ERR_MOUNT_FAILED', `upperdir=${path}: whiteout ${w} in no directory`);
    upper.addWhiteout(dir, nameOf(w));
  }
  for (const d of layer.opaqueDirs) {
    const dir = links.get(d);
    // The upper root's opaque mark hides nothing the kernel would show either (ovl_lookup: the
    // root is never opaque to its lowers); kept as it is read.
    if (dir) upper.setOpaque(dir);
  }
  // The markers' creation touched their directories' mtimes: the walk's times again.
  for (const p of layer.opaqueDirs) restoreTime(links.get(p), layer.entries.get(p));
  for (const w of layer.whiteouts) {
    const d = w.slice(0, w.lastIndexOf('/')) || '/';
    restoreTime(links.get(d), layer.entries.get(d));
  }
  // overlayfs.rst "Redirect dir": a relative redirect names a sibling in the parent's lower
  // directory (which may itself be redirected), an absolute one a path from the lower root.
  const redirects: Array<[MemfsNode, string]> = [];
  const lowerPathOf = new Map<string, string>([['/', '/']]);
  for (const p of paths) {
    if (p === '/' || layer.entries.get(p)!.type !== 'directory') continue;
    const parent = p.slice(0, p.lastIndexOf('/')) || '/';
    const parentLower = lowerPathOf.get(parent) ?? parent;
    const value = layer.redirects.get(p);
    if (value !== undefined) checkRedirect(path, p, value);
    const join = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
    const lower = value === undefined ? join(parentLower, nameOf(p)) : value.startsWith('/') ? value : join(parentLower, value);
    lowerPathOf.set(p, lower);
    if (value !== undefined) redirects.push([links.get(p)!.getNode(), lower]);
  }
  return { volume, xattrs, redirects };
}

/**
 * A redirect the kernel follows (ovl_check_redirect, ovl_lookup_layer): a bare name, or an
 * absolute path whose every component is a name. It refuses the others when the directory is
 * looked up (observed on 6.18: `a/b` and `/a//b` EINVAL, "invalid redirect"; `/a/../c`
 * EACCES, lookup_one refuses `..`); a redirect read as a path here would merge a directory
 * the kernel never shows (`a/b` is /a/b's content): the mount is refused, naming it.
 */
function checkRedirect(upperdir: string, dir: string, value: string): void {
  const names = value.startsWith('/') ? value.slice(1).split('/') : [value];
  if (names.every((n) => n !== '' && n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0'))) return;
  throw new MountError('ERR_MOUNT_FAILED', `upperdir=${upperdir}: ${dir} holds trusted.overlay.redirect ${JSON.stringify(value)}, which the kernel does not follow (a bare name or an absolute path of names)`);
}

function restoreTime(link: MemfsLink | undefined, e: LayerEntry | undefined): void {
  if (!link || !e) return;
  link.getNode().mtime = new Date(e.mtimeMs);
}

/** Gives the engine's upper layer the xattrs and redirects read from the directory. */
export function applyXattrs(upper: Upper, loaded: LoadedUpper): void {
  for (const [node, attrs] of loaded.xattrs) upper.xattrs.set(node, attrs);
  for (const [node, lower] of loaded.redirects) upper.redirects.set(node, lower);
}

/**
 * The kernel's checks of upperdir and workdir (fs/overlayfs/super.c, ovl_get_workdir and
 * ovl_workdir_ok): both directories, on the same filesystem, neither inside the other. Returns
 * both held open by descriptor (the caller closes them).
 */
export function openUpperAndWork(upperdir: string, workdir: string): { upper: DirHandle; work: DirHandle } {
  const open = (what: string, p: string) => {
    try {
      return DirHandle.open(p);
    } catch (e) {
      throw new MountError('ERR_MOUNT_FAILED', `${what}=${p}: not a directory that can be opened: ${(e as Error).message}`, { cause: e });
    }
  };
  const upper = open('upperdir', upperdir);
  let work: DirHandle | undefined;
  try {
    work = open('workdir', workdir);
    if (work.dev !== upper.dev) throw new MountError('ERR_MOUNT_FAILED', `workdir=${workdir} and upperdir=${upperdir} must be on the same filesystem (overlayfs.rst: workdir "needs to be an empty directory on the same filesystem as upperdir")`);
    if (work.ino === upper.ino || isBelow(work, upper) || isBelow(upper, work)) throw new MountError('ERR_MOUNT_FAILED', `workdir=${workdir} and upperdir=${upperdir} must be separate directories, neither inside the other`);
    return { upper, work };
  } catch (e) {
    upper.close();
    work?.close();
    throw e;
  }
}

/** Whether `dir` is below `ancestor`: `..` after `..` from the directory's descriptor up to the root. */
function isBelow(dir: DirHandle, ancestor: DirHandle): boolean {
  let path = dir.self();
  let here = statSync(path);
  for (;;) {
    path = `${path}/..`;
    const up = statSync(path);
    if (up.dev === ancestor.dev && up.ino === ancestor.ino) return true;
    if (up.dev === here.dev && up.ino === here.ino) return false; // the root: its .. is itself
    here = up;
  }
}

import type { LayerEntry } from '../layer/entry.js';
import type { MemfsLink, MemfsNode } from '../util/memfs-types.js';
import type { LowerNode } from './lower-index.js';
import { fail } from './errno.js';
import type { Obj } from './resolve.js';
import type { OverlayState } from './overlay-state.js';
import type { NodeMeta } from './upper.js';

/**
 * Makes sure the object is in the upper layer, copying it up with its parents first
 * (overlayfs.rst "Non-directories": "the file is first copied up... parents first"; the
 * kernel's ovl_copy_up, fs/overlayfs/copy_up.c). Data, mode, owner, times and xattrs are
 * copied; a directory is copied without its content and stays merged with the lower one.
 */
export function copyUp(s: OverlayState, obj: Obj, forWriting = false): MemfsLink {
  const done = upperCopyOf(s, obj);
  if (done) return done;
  // Parents first, top-down, without recursion (a layer may nest deeper than the stack).
  const missing: Obj[] = [];
  for (let o: Obj | undefined = obj; o && !upperCopyOf(s, o); o = o.parent) missing.push(o);
  let link: MemfsLink | undefined;
  for (let i = missing.length - 1; i >= 0; i--) link = copyUpOne(s, missing[i]!, missing[i]!.parent!.upper!, forWriting && i === 0);
  return link!;
}

/**
 * The upper link of `obj` if it, or the lower object it was looked up as, has been copied up
 * since: an object an open file holds (looked up at the open) then takes the copy, wherever
 * it has been renamed or unlinked since, as the kernel's open file follows the overlay
 * inode's upper once it has one (ovl_real_fdget_meta, ovl_getattr, ovl_setattr). A directory
 * keeps merging with its lower directory. O(1): one WeakMap probe.
 */
export function upperCopyOf(s: OverlayState, obj: Obj): MemfsLink | undefined {
  if (obj.upper) return obj.upper;
  const low = obj.lower;
  const copy = low ? s.copies.get(low) : undefined;
  if (copy) {
    obj.upper = copy;
    if (low!.entry.type !== 'directory') obj.lower = undefined;
  }
  return copy;
}

/**
 * Room left past a file's copied-up bytes when it is copied up to be written (open(2) for
 * writing): a write that extends it (an append) then goes in place, where memfs, with no room,
 * would allocate twice the size and copy the whole file again. An eighth of the size, at least
 * memfs's own smallest capacity (64 bytes): memfs's doubling leaves up to as much again.
 */
function roomToGrow(size: number): number {
  return Math.max(64, Math.ceil(size / 8));
}

/** Copies up one object whose parent is already in the upper layer (a file `forWriting` with room to grow). */
function copyUpOne(s: OverlayState, obj: Obj, parentLink: MemfsLink, forWriting: boolean): MemfsLink {
  const low = obj.lower!;
  const e = low.entry;
  // Another lookup of the same path (rename and link resolve two paths) may have copied a directory up.
  const existing = s.upper.child(parentLink, obj.name);
  if (existing && e.type === 'directory') {
    obj.upper = existing;
    return existing;
  }
  // A non-directory not copied up (upperCopyOf) whose name now holds a whiteout or another
  // file: it was removed since an open file looked it up. The kernel's copy-up links the copy
  // in by that name and fails (ovl_copy_up_tmpfile, ovl_do_link): EEXIST, nothing made.
  if (existing || s.upper.hasWhiteout(parentLink, obj.name)) fail('EEXIST', `${obj.path} was removed since it was opened`);
  const parentNode = parentLink.getNode();
  const parentMtime = parentNode.mtime;
  const link = s.upper.create(parentLink, obj.name, e.type, metaOf(e), {
    ...(e.type === 'file' ? { content: s.lower.copyOf(low, forWriting ? roomToGrow(e.size) : 0) } : {}),
    ...(e.linkTarget !== undefined ? { target: e.linkTarget } : {}),
    rdev: e.rdev,
  });
  // Copy-up links the copy into the upper parent and then restores the parent's times.
  parentNode.mtime = parentMtime;
  if (e.xattrs.size > 0) s.upper.xattrs.set(link.getNode(), new Map(e.xattrs));
  obj.upper = link;
  s.copies.set(low, link);
  if (e.type !== 'directory') {
    s.copiedFrom.set(link.getNode(), low);
    obj.lower = undefined;
  }
  s.emit({ type: 'copy-up', path: obj.path, entryType: e.type, fromLayer: low.layer });
  return link;
}

function metaOf(e: LayerEntry): NodeMeta {
  return { mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs, atimeMs: e.atimeMs };
}

/** The upper inode of a copied-up file lost its last name (Upper.onRelease): its copy is let go once no descriptor opened on the lower object can read it. */
export function releaseCopy(s: OverlayState, node: MemfsNode): void {
  const low = s.copiedFrom.get(node);
  if (!low) return;
  if (s.lowerReaders.has(low)) s.removedCopies.add(low);
  else s.copies.delete(low);
}

/** A read-only descriptor of a lower object opened (count up) or closed (count down; the last one lets a removed copy go). */
export function lowerReader(s: OverlayState, low: LowerNode, delta: 1 | -1): void {
  const n = (s.lowerReaders.get(low) ?? 0) + delta;
  if (n > 0) {
    s.lowerReaders.set(low, n);
    return;
  }
  s.lowerReaders.delete(low);
  if (s.removedCopies.delete(low)) s.copies.delete(low);
}

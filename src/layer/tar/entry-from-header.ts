import { layerPath, PATH_MAX, printable, utf8Name } from '../../tar/entry-name.js';
import { headerOnlySizeFault } from '../../tar/header-fields.js';
import { entryTypeOf, type TarHeader } from '../../tar/tar-header.js';
import { makedev } from '../../util/device.js';
import { ext4TimeMs } from '../../util/ext4-times.js';
import type { ContentRef, EntrySpec } from '../entry.js';
import type { LayerBuilder } from '../layer-builder.js';
import { TarLayerError } from './errors.js';
import { paxNumber, sparseFile, xattrsOf } from './pax-fields.js';

/**
 * Adds the entry one tar header describes to `builder`, its type read through the one
 * typeflag table (tar/tar-header.ts), with `data` as a file's content; a header no Linux
 * file could come from (a name or link target that is not UTF-8, escapes the root or is too
 * long, a header-only type with a size, an unknown type, a sparse file, a malformed PAX
 * value) is a TarLayerError naming the entry.
 */
export function addEntry(builder: LayerBuilder, layer: string, h: TarHeader, data: Buffer | ContentRef): void {
  const rawName = h.pax?.path ?? utf8Name(h.name);
  if (rawName === undefined || rawName.includes('\uFFFD')) throw new TarLayerError(layer, printable(h.name), 'name is not valid UTF-8');
  // GNU tar substitutes "." for an empty name, which would make the entry the root.
  if (rawName === '') throw new TarLayerError(layer, `(empty name, header at byte ${(h.byteOffset ?? 512) - 512})`, 'an entry must have a name');
  const where = layerPath(rawName);
  if ('refused' in where) throw new TarLayerError(layer, rawName, where.refused);
  const path = where.path;
  const sizeFault = headerOnlySizeFault(h.type, h.size, h.pax?.size);
  if (sizeFault !== undefined) throw new TarLayerError(layer, rawName, sizeFault);
  const type = entryTypeOf(h.type);
  const linkTarget = type === 'hardlink' || type === 'symlink' ? h.pax?.linkpath ?? utf8Name(h.linkname ?? '') : '';
  if (linkTarget === undefined) throw new TarLayerError(layer, rawName, `${type === 'hardlink' ? 'hard link' : 'symlink'} target ${printable(h.linkname ?? '')} is not valid UTF-8`);
  // symlink(2) and link(2) take a target of at most PATH_MAX - 1 bytes (ENAMETOOLONG).
  if (linkTarget.length > PATH_MAX / 3 && Buffer.byteLength(linkTarget) >= PATH_MAX) throw new TarLayerError(layer, rawName, `${type === 'hardlink' ? 'hard link' : 'symlink'} target of ${Buffer.byteLength(linkTarget)} bytes, longer than PATH_MAX - 1 (${PATH_MAX - 1}): no Linux file has it (ENAMETOOLONG)`);
  if (type === 'hardlink') {
    // layerPath would read an empty target as the root.
    if (linkTarget === '') throw new TarLayerError(layer, rawName, 'hard link with an empty target');
    const target = layerPath(linkTarget);
    if ('refused' in target) throw new TarLayerError(layer, rawName, `hard link target: ${target.refused}`);
    builder.addHardLink(path, target.path);
    return;
  }
  // tar-stream gives no type for typeflags it does not know: GNU's old sparse files ('S'),
  // volume labels ('V'), multi-volume continuations ('M'), vendor types.
  if (!type) throw new TarLayerError(layer, rawName, h.type ? `unsupported entry type ${h.type}` : 'unsupported entry type (a typeflag tar-stream does not know: a GNU sparse file, volume label or multi-volume part, or a vendor type)');
  const spec: EntrySpec = { type, mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0 };
  // Most entries of most layers have no PAX records: nothing more to read then.
  if (h.pax) {
    if (Object.keys(h.pax).some((k) => k.startsWith('GNU.sparse.'))) throw sparseFile(layer, rawName, h.pax);
    const value = (key: 'uid' | 'gid' | 'mtime' | 'atime'): number | undefined => paxNumber(layer, rawName, h.pax!, key);
    const atime = value('atime');
    const mtime = value('mtime');
    spec.uid = value('uid') ?? spec.uid;
    spec.gid = value('gid') ?? spec.gid;
    // Times are stored as the rest of layerfs stores them (docs/semantics.md rule 19,
    // file-times.ts): clamped to what ext4 with 256-byte inodes holds, as GNU tar or umoci
    // extracting the layer there would leave them (mtime=10000000000000 reads as 2446-05-10T22:38:55Z).
    if (mtime !== undefined) spec.mtimeMs = ext4TimeMs(mtime);
    if (atime !== undefined) spec.atimeMs = ext4TimeMs(atime);
    const xattrs = xattrsOf(layer, rawName, h.pax);
    if (xattrs) spec.xattrs = xattrs;
  }
  if (spec.mtimeMs === undefined) {
    let ustarMs = h.mtime?.getTime() ?? 0;
    // A negative ustar mtime can only be base-256 (two's complement; signs are refused,
    // header-fields.ts), and tar-stream's parse256 negates the one's complement: a second late.
    if (ustarMs < 0) ustarMs -= 1000;
    // A base-256 ustar mtime beyond a Date's range (year 275760) is NaN by now: its seconds are lost.
    if (!Number.isFinite(ustarMs)) throw new TarLayerError(layer, rawName, 'a base-256 mtime beyond what a Date holds (±8.64e12 s), which layerfs cannot read from a ustar field');
    spec.mtimeMs = ext4TimeMs(ustarMs / 1000);
  }
  if (type === 'file') spec.content = data;
  if (type === 'symlink') {
    // A PAX linkpath can carry a NUL; symlink(2) would end the target there.
    if (linkTarget.includes('\0')) throw new TarLayerError(layer, rawName, 'symlink target contains a NUL byte');
    spec.linkTarget = linkTarget;
  }
  if (type === 'char' || type === 'block') spec.rdev = makedev(h.devmajor ?? 0, h.devminor ?? 0);
  builder.add(path, spec);
}

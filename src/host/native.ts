import { fileURLToPath } from 'node:url';

/**
 * The system calls Node's fs lacks, from the small N-API addon in native/ (host_calls.c,
 * built by `npm run build:native`, which `npm ci` runs as the package's install script).
 * This is the one module that loads it; everything else asks `hostCalls()`.
 *
 * Why our own addon: no well-kept npm package offers mknod(2) (mafintosh's `mknod` downloads
 * a prebuilt binary at install; `posix` has none), and the xattr packages set attributes by
 * path only (`fs-xattr` follows a final symlink; `@napi-rs/xattr` has no call on an open
 * descriptor), while a file being written is best given its attributes through its
 * descriptor. The addon is a few thin wrappers; writeFileAt does a file's whole create,
 * write, chown, chmod and utimes sequence in one call, which is what lets an export of many
 * small files keep pace with GNU tar (bench/export.bench.ts), and copyFileAt the same with the
 * content copied by the kernel from a layer or spill file, never through a JS Buffer.
 */
export interface HostCalls {
  /** The interface version the addon was built with: HOST_CALLS_VERSION, or it is not used. */
  version: number;
  /** mknodat(2): `mode` holds the type (S_IFCHR, S_IFBLK, S_IFIFO) and the permission bits. */
  mknodat(dirfd: number, name: string, mode: number, major: number, minor: number): void;
  /**
   * fsetxattr(2) on a descriptor, or setxattr(2) on a path, following it: for
   * `/proc/self/fd/N` of an O_PATH descriptor, whose magic link ends on the inode the
   * descriptor holds (a symlink or device node included).
   */
  setxattr(target: number | string, name: string, value: Buffer): void;
  /**
   * Opens a new file: `name` in `dirfd` with O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, 0600, or, when
   * `name` is null, an unnamed one there (O_TMPFILE; EOPNOTSUPP or EISDIR where the filesystem
   * has none), to be named by linkFd. Writes `data`, fchowns to `uid`:`gid` (unsigned 32-bit
   * ids) when `setOwner`, and unless `flags` has WRITE_OWNER_ONLY fchmods to `mode` (or, with
   * WRITE_EXACT_MODE, creates the file with `mode` instead of 0600 and does not) and sets
   * atime = mtime = sec.nsec; closes it unless `flags` has WRITE_KEEP_OPEN or
   * WRITE_OWNER_ONLY (then the descriptor is returned, else -1).
   */
  writeFileAt(dirfd: number, name: string | null, mode: number, uid: number, gid: number, setOwner: boolean, sec: number, nsec: number, data: Buffer | null, flags: number): number;
  /**
   * writeFileAt with `length` bytes at `srcOffset` of the open file `srcFd` as the content,
   * copied by the kernel: copy_file_range(2), else sendfile(2), else pread(2)/write(2) in the
   * addon; `srcFd`'s file position does not move. A source that ends first is an error with
   * code ERR_SOURCE_ENDED (the new file is closed; a named one stays for the caller to remove).
   */
  copyFileAt(dirfd: number, name: string | null, mode: number, uid: number, gid: number, setOwner: boolean, sec: number, nsec: number, srcFd: number, srcOffset: number, length: number, flags: number): number;
  /**
   * linkat(AT_FDCWD, "/proc/self/fd/<fd>", dirfd, name, AT_SYMLINK_FOLLOW): gives the open
   * file `fd` (an O_TMPFILE one) the name `name` in `dirfd`; EEXIST if the name exists.
   */
  linkFd(fd: number, dirfd: number, name: string): void;
  /**
   * Every extended attribute of what `path` leads to, following it (for `/proc/self/fd/N` of
   * an O_PATH descriptor, as setxattr): listxattr(2) and getxattr(2), as alternating name and
   * value Buffers. Absent from an addon built before it (then rebuild: npm run build:native).
   */
  xattrsOf?(path: string): Buffer[];
  /**
   * removexattr(2) of what `path` leads to, following it (for `/proc/self/fd/N` of an O_PATH
   * descriptor, as setxattr). Absent from an addon built before it (then rebuild).
   */
  removexattr?(path: string, name: string): void;
}

/**
 * The version of native/host_calls.c this code calls (LAYERFS_HOST_VERSION there). A build
 * of another version (a native/build left from an older checkout: it is not tracked, so it
 * survives checkouts) is not used; `hostCallsMissing()` says to rebuild.
 */
export const HOST_CALLS_VERSION = 6;

/** writeFileAt's flags. */
export const WRITE_KEEP_OPEN = 1;
/** Stop after the owner, the file kept open: the caller sets xattrs, then mode and times. */
export const WRITE_OWNER_ONLY = 2;
/** Create the file with its mode (the umask clears none of its bits), so no fchmod follows. */
export const WRITE_EXACT_MODE = 4;

/**
 * Where the addon is: `LAYERFS_NATIVE_ADDON` (a bundled copy of layerfs points it at the
 * built file; `none` turns the addon off), else native/build/Release beside src/ or dist/.
 */
const addonPath = (): string | undefined => {
  const env = process.env.LAYERFS_NATIVE_ADDON;
  if (env === 'none') return undefined;
  return env || fileURLToPath(new URL('../../native/build/Release/layerfs_host.node', import.meta.url));
};

let loaded: { calls?: HostCalls; missing: string } | undefined;

function load(): { calls?: HostCalls; missing: string } {
  const path = addonPath();
  if (path === undefined) return { missing: 'the native addon is turned off (LAYERFS_NATIVE_ADDON=none)' };
  try {
    // process.dlopen is what require() does for a .node file (and keeps node:module out of the
    // browser bundle of the teaching page, src/serve/bundle-page.ts).
    const addon = { exports: {} as Partial<HostCalls> };
    process.dlopen(addon, path);
    const version = addon.exports.version;
    if (version !== HOST_CALLS_VERSION) {
      return { missing: `the native addon at ${path} is stale (interface version ${version ?? 'none'}, this layerfs needs ${HOST_CALLS_VERSION}): rebuild it (npm run build:native)` };
    }
    return { calls: addon.exports as HostCalls, missing: '' };
  } catch (e) {
    return { missing: `the native addon is not built (npm run build:native): ${(e as Error).message.split('\n')[0]}` };
  }
}

/** The addon's calls, or undefined when it is not built (then `hostCallsMissing()` says why). */
export function hostCalls(): HostCalls | undefined {
  loaded ??= load();
  return loaded.calls;
}

/** Why `hostCalls()` is undefined, for the `skipped` reasons of exportDir. */
export function hostCallsMissing(): string {
  loaded ??= load();
  return loaded.missing;
}

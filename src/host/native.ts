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
 * small files keep pace with GNU tar (bench/export.bench.ts).
 */
export interface HostCalls {
  /** mknodat(2): `mode` holds the type (S_IFCHR, S_IFBLK, S_IFIFO) and the permission bits. */
  mknodat(dirfd: number, name: string, mode: number, major: number, minor: number): void;
  /**
   * fsetxattr(2) on a descriptor, or setxattr(2) on a path, following it: for
   * `/proc/self/fd/N` of an O_PATH descriptor, whose magic link ends on the inode the
   * descriptor holds (a symlink or device node included).
   */
  setxattr(target: number | string, name: string, value: Buffer): void;
  /**
   * openat(dirfd, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, 0600), write `data`, fchown
   * (uid -1: not), fchmod(mode), futimens(atime = mtime = sec.nsec), and close unless
   * `keepOpen` (then the descriptor is returned, else -1).
   */
  writeFileAt(dirfd: number, name: string, mode: number, uid: number, gid: number, sec: number, nsec: number, data: Buffer | null, keepOpen: boolean): number;
}

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
    const addon = { exports: {} as HostCalls };
    process.dlopen(addon, path);
    return { calls: addon.exports, missing: '' };
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

/**
 * The Linux values Node's `fs.constants`, `os.constants.errno` and `util.getSystemErrorMap()`
 * give the engine on Linux, for the browser, which has none of them. Only the names layerfs
 * uses; test/serve/page-shims.test.ts checks every value against Node's own.
 */
export const fsConstants = {
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100, O_EXCL: 0o200, O_NOCTTY: 0o400, O_TRUNC: 0o1000,
  O_APPEND: 0o2000, O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000, O_SYNC: 0o4010000, O_DSYNC: 0o10000,
  F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1, COPYFILE_EXCL: 1,
};

/** errno number and libuv's description, by code. */
export const errnos: Record<string, [number, string]> = {
  EPERM: [1, 'operation not permitted'],
  ENOENT: [2, 'no such file or directory'],
  EBADF: [9, 'bad file descriptor'],
  EACCES: [13, 'permission denied'],
  EBUSY: [16, 'resource busy or locked'],
  EEXIST: [17, 'file already exists'],
  EXDEV: [18, 'cross-device link not permitted'],
  ENOTDIR: [20, 'not a directory'],
  EISDIR: [21, 'illegal operation on a directory'],
  EINVAL: [22, 'invalid argument'],
  ENAMETOOLONG: [36, 'name too long'],
  ENOTEMPTY: [39, 'directory not empty'],
  ELOOP: [40, 'too many symbolic links encountered'],
  EFBIG: [27, 'file too large'],
  ENOTSUP: [95, 'operation not supported on socket'],
};

/** What the page's bundle gets for a Node built-in it has no port of. */
export function builtinFor(name: string): Record<string, unknown> {
  if (name === 'fs') return { constants: fsConstants };
  if (name === 'os') return { constants: { errno: Object.fromEntries(Object.entries(errnos).map(([c, [n]]) => [c, n])) } };
  if (name === 'util') return { getSystemErrorMap: () => new Map(Object.entries(errnos).map(([c, [n, d]]) => [-n, [c, d]])) };
  if (name === 'stream') return Object.fromEntries(['Readable', 'Writable', 'Transform', 'PassThrough'].map((c) => [c, absentClass(`stream.${c}`)]));
  return {};
}

/** A class modules may extend when they load, which throws if the page ever makes one. */
function absentClass(what: string): new () => never {
  return class {
    constructor() {
      throw new Error(`${what} is not available in the browser`);
    }
  } as never;
}

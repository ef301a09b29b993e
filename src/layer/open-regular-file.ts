import { closeSync, constants, fstatSync, openSync, type BigIntStats } from 'node:fs';

// Opening a layer file or blob: only a regular file is opened for reading, and a device's or
// FIFO's open never runs.

/**
 * open(2)'s O_PATH (Linux 2.6.39): a descriptor that only names the file, opened without
 * running the file's open operation. Node does not export it; it is 010000000 on every Linux
 * architecture Node runs on (x86, arm, powerpc, s390, mips, riscv, loongarch: asm-generic's
 * value; only alpha, parisc and sparc differ).
 */
const O_PATH = 0o10000000;

/**
 * Opens `path` for reading if what it leads to is a regular file, else a NotRegularFile: a
 * device or FIFO has no size to bound reads by (/dev/zero would be read until maxBytes).
 * Links are followed (a layout may share blobs by symlink): what counts is the file reached,
 * whose bytes the caller verifies anyway. On Linux the file is first opened with O_PATH and
 * fstat'ed, and only a regular file is opened for reading, through /proc/self/fd/N (the same
 * inode, not the path looked up again): a link to /dev/watchdog or a tty never runs the
 * driver's open (which for a watchdog arms it), a FIFO's open never waits for or wakes a
 * writer. Without /proc (and on other systems) the path is opened with O_RDONLY|O_NONBLOCK
 * (a FIFO's open does not wait) and the descriptor fstat'ed.
 */
export function openRegularFile(path: string): { fd: number; stamp: BigIntStats } {
  if (process.platform !== 'linux') return regularOrClosed(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), path);
  const probe = openSync(path, O_PATH);
  try {
    regularStat(probe, path);
    let fd: number;
    try {
      fd = openSync(`/proc/self/fd/${probe}`, constants.O_RDONLY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // no /proc: by path, checked again below
    }
    return regularOrClosed(fd, path);
  } finally {
    closeSync(probe);
  }
}

/** `fd` with its fstat if it is a regular file; else closed, and a NotRegularFile. */
function regularOrClosed(fd: number, path: string): { fd: number; stamp: BigIntStats } {
  try {
    return { fd, stamp: regularStat(fd, path) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function regularStat(fd: number, path: string): BigIntStats {
  const st = fstatSync(fd, { bigint: true });
  if (!st.isFile()) throw new NotRegularFile(path, kindOf(st));
  return st;
}

/** A path given as a layer file is not a regular file (TarLayer turns this into its error). */
export class NotRegularFile extends Error {
  constructor(readonly path: string, readonly kind: string) {
    super(`${path} is not a regular file (${kind})`);
  }
}

function kindOf(s: BigIntStats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

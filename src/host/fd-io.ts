import { close, fstat, fsync, read, write } from 'node:fs';
import { promisify } from 'node:util';

/**
 * Asynchronous calls on a raw descriptor (one DirHandle opened relative to its directory),
 * run on libuv's thread pool like fs/promises, so a long blob never blocks the event loop.
 */
export const readFd = promisify(read);
export const fsyncFd = promisify(fsync);
export const fstatFd = promisify(fstat);
export const closeFd = promisify(close);
const writeFd = promisify(write);

/** Writes all of `data` at the descriptor's position (write(2) may write less than asked). */
export async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; ) off += (await writeFd(fd, data, off, data.length - off)).bytesWritten;
}

/** Whether a file read back held the `size` bytes it was measured with, or more, or fewer. */
export type ReadOutcome = 'whole' | 'grew' | 'shrank';

/**
 * Reads a file of `size` bytes (as measured before: fstat, or the size it must have) from its
 * start, handing each chunk to `onChunk` (a view of a reused buffer), and never reads more
 * than `size + 1` bytes: a file that grows while it is read is seen as such, never read
 * without end.
 */
export async function readWhole(fd: number, size: number, onChunk: (chunk: Buffer) => void): Promise<ReadOutcome> {
  const buf = Buffer.alloc(Math.min(size + 1, 1 << 20));
  let got = 0;
  for (;;) {
    const { bytesRead } = await readFd(fd, buf, 0, Math.min(buf.length, size + 1 - got), got);
    if (bytesRead === 0) return got === size ? 'whole' : 'shrank';
    got += bytesRead;
    if (got > size) return 'grew';
    onChunk(buf.subarray(0, bytesRead));
  }
}

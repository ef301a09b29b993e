import { randomBytes } from 'node:crypto';
import { closeSync, constants, ftruncate, openSync, unlinkSync, writev } from 'node:fs';
import { join } from 'node:path';
import { ContentFile } from '../content-file.js';

/**
 * open(2)'s O_TMPFILE (with O_DIRECTORY, as the kernel requires): a file with no name at all,
 * so no other process can open it by path, and nothing is left behind by a crash. Node does
 * not export the constant; __O_TMPFILE is 020000000 on x86, arm and the other asm-generic
 * architectures.
 */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

/** Pieces are gathered until this many bytes, then written with one writev(2). */
const WRITE_BYTES = 1 << 20;
/** ...or this many pieces (IOV_MAX is 1024 on Linux). */
const WRITE_PIECES = 512;
/** Bytes handed to writes that have not completed before the reader is asked to wait. */
const HIGH_WATER = 16 << 20;
/** Pieces at least this large that are all zero bytes are left as a hole, not written. */
const HOLE_BYTES = 64 << 10;
const ZEROS = Buffer.alloc(1 << 20);

/**
 * A layer's private temporary file for its inflated content (the content of gzip and zstd
 * layers, and of layers given as a Buffer or stream), so that an opened layer's memory does
 * not grow with its content. The file is made with O_TMPFILE where the filesystem supports it
 * (tmpfs, ext4, xfs, btrfs), else created under a random name with O_EXCL|O_NOFOLLOW, mode
 * 0600, and unlinked at once: either way it has no name while the layer uses it, and its
 * space is freed when the descriptor is closed (layer.close(), or the layer's collection).
 *
 * Content is appended in the order the tar gives it; each piece gets the next offset at once,
 * while the writes run on libuv's thread pool (positional writev, so several may be in flight
 * in any order). Runs of zeros of 64 KiB or more are skipped (holes read back as zeros), so a
 * bomb of zeros costs no disk.
 */
export class Spill {
  readonly file: ContentFile;
  /** Offset of the next byte appended. */
  private next = 0;
  private pieces: Buffer[] = [];
  private piecesBytes = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];

  private constructor(fd: number, layer: string, readonly dir: string) {
    this.file = ContentFile.private(fd, layer, `the spill file in ${dir}`);
  }

  /** A new spill file in `dir`. */
  static create(dir: string, layer: string): Spill {
    let fd: number;
    try {
      fd = openSync(dir, constants.O_RDWR | O_TMPFILE | constants.O_EXCL, 0o600);
    } catch (e) {
      // EISDIR/EOPNOTSUPP: a kernel or filesystem without O_TMPFILE.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'EOPNOTSUPP' && code !== 'EINVAL') throw e;
      const path = join(dir, `.layerfs-spill-${randomBytes(12).toString('hex')}`);
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        unlinkSync(path);
      } catch (u) {
        closeSync(fd);
        throw u;
      }
    }
    return new Spill(fd, layer, dir);
  }

  /** Where the next appended byte goes. */
  get offset(): number {
    return this.next;
  }

  /** Appends bytes (kept by reference until written: the caller must not reuse them). */
  append(piece: Buffer): void {
    if (piece.length >= HOLE_BYTES && allZero(piece)) {
      this.flush();
      this.next += piece.length;
      return;
    }
    this.pieces.push(piece);
    this.piecesBytes += piece.length;
    this.next += piece.length;
    if (this.piecesBytes >= WRITE_BYTES || this.pieces.length >= WRITE_PIECES) this.flush();
  }

  /** The error of the first write that failed, if one has. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** True while so much is being written that the reader should wait (`drained`). */
  get congested(): boolean {
    return this.inFlight >= HIGH_WATER;
  }

  /** Resolves once writes in flight are below half the high-water mark (or one failed). */
  drained(): Promise<void> {
    if (this.inFlight < HIGH_WATER / 2 || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Writes what is left and waits for every write; the file then reads `offset` bytes
   * (ftruncate gives trailing holes their length). Rejects with the first write's error.
   */
  async finish(): Promise<void> {
    this.flush();
    await this.settled();
    if (this.failure) throw this.failure;
    const fd = this.file.hold();
    await new Promise<void>((resolve, reject) => ftruncate(fd, this.next, (e) => {
      this.file.release();
      if (e) reject(e);
      else resolve();
    }));
    this.file.size = this.next;
  }

  /** Resolves once no write is in flight (after a failure too: nothing of the layer's is left running). */
  async settled(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private flush(): void {
    if (this.pieces.length === 0) return;
    const pieces = this.pieces;
    const bytes = this.piecesBytes;
    const at = this.next - bytes;
    this.pieces = [];
    this.piecesBytes = 0;
    if (this.failure) return;
    this.inFlight += bytes;
    const write = (list: Buffer[], position: number, left: number): void => {
      writev(this.file.hold(), list, position, (err, n) => {
        this.file.release();
        if (!err && n < left) return write(rest(list, n), position + n, left - n); // a short write: the rest
        this.inFlight -= bytes;
        if (err) this.failure ??= err;
        this.wake();
      });
    };
    write(pieces, at, bytes);
  }

  private wake(): void {
    if (this.inFlight >= HIGH_WATER / 2 && !this.failure && this.inFlight > 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}

/** `list` without its first `n` bytes. */
function rest(list: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (n >= list[i]!.length) n -= list[i++]!.length;
  return [list[i]!.subarray(n), ...list.slice(i + 1)];
}

function allZero(b: Buffer): boolean {
  for (let at = 0; at < b.length; at += ZEROS.length) {
    const part = b.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

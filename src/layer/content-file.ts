// Over 300 lines: one class, a held descriptor's lifetime with its reads by position and their
// checks; range() is a read for the kernel's copy (exportDir) and shares those checks.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, read, readSync, type BigIntStats } from 'node:fs';
import { Readable } from 'node:stream';
import { LayerContentError, type LayerContentCode } from './content-error.js';
import { hashOpenFile, type FileDigest } from './tar/hash-file.js';
import { openRegularFile } from './open-regular-file.js';
import type { FileRange } from './layer.js';

export { LayerContentError, type LayerContentCode };

/**
 * Descriptors still open when their ContentFile is collected are closed then: a layer that is
 * never closed leaks nothing for longer than it is reachable. An explicit close unregisters
 * first, so a descriptor number is never closed twice (the second close could hit a file
 * opened since under the same number).
 */
const unclosed = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch { /* nothing to do at collection time */ }
});

/** Longest single read(2): Node refuses lengths over 2^31 - 1 (kIoMaxLength). */
const MAX_READ = 2 ** 30;

/**
 * A file a layer reads content from by position, through a descriptor it holds for as long as
 * the layer lives: the layer file it verified at open (an uncompressed tar or a compressed
 * blob), or its private spill file (inflated content, spill.ts).
 *
 * A held layer file is checked after every read: its fstat (device, inode, size, mtime,
 * ctime in nanoseconds, link count) must still be the stamp it had when its bytes were last
 * verified. The check comes after the read because the kernel stamps mtime/ctime before it
 * copies a write's data in (file_update_time before generic_perform_write) and changes i_size
 * before it drops truncated pages: bytes that a write or truncate had already reached are
 * always seen with a new stamp. Any change of the stamp (a write, a chmod, a new hard link, a
 * rename over the file) is verified again: the whole file is hashed through the descriptor,
 * with the same fstat before and after; if the hash is the verified digest, the new stamp is
 * adopted and the read made again, else the read is an `ERR_LAYER_CHANGED` error, never the
 * bytes read, and so is every read after it.
 */
export class ContentFile {
  private fd: number | undefined;
  /** Reads and writes in flight on the thread pool (held): close() waits for them. */
  private inFlight = 0;
  /** The descriptor close() let go of while operations were in flight: closed by the last. */
  private closing: number | undefined;
  /** sha256 of the whole file as verified (`verified()`); until then a changed stamp is a change. */
  private digest: string | undefined;
  /** Why the file is no longer the verified one, once a check found it so: every later read fails. */
  private failure: string | undefined;

  private constructor(
    /** The layer's name, for errors. */
    readonly layer: string,
    /** The layer file's path; undefined for a private file (the spill file). */
    readonly path: string | undefined,
    /** What a private file is, for errors ("the spill file in /tmp"). */
    private readonly label: string | undefined,
    fd: number,
    /** The file as verified; undefined for a private file nobody else can reach. */
    private stamp: BigIntStats | undefined,
    /** Bytes readable (the verified size; for a spill file, what was written). */
    public size: number,
  ) {
    this.fd = fd;
    unclosed.register(this, fd, this);
  }

  /** Opens a layer file, which must be a regular file (openRegularFile). */
  static openRegular(path: string, layer: string): ContentFile {
    const { fd, stamp } = openRegularFile(path);
    return new ContentFile(layer, path, undefined, fd, stamp, Number(stamp.size));
  }

  /**
   * Wraps a descriptor of a file that must still be the one `stamp` describes (its fstat when
   * a DirectoryLayer walked it): any read made after it changed is ERR_LAYER_CHANGED. Nothing
   * was hashed, so a changed stamp is never verified again.
   */
  static adopt(fd: number, path: string, layer: string, stamp: BigIntStats): ContentFile {
    return new ContentFile(layer, path, undefined, fd, stamp, Number(stamp.size));
  }

  /** Wraps a private descriptor (a spill file): reads are bounded by `size`, never re-checked. */
  static private(fd: number, layer: string, label: string): ContentFile {
    return new ContentFile(layer, undefined, label, fd, undefined, 0);
  }

  /** The open descriptor (for the hashing worker and the header walk); throws once closed. */
  get descriptor(): number {
    return this.open();
  }

  private open(entry?: string): number {
    if (this.fd === undefined) throw this.error('ERR_LAYER_CLOSED', 'the layer was closed', entry);
    return this.fd;
  }

  /**
   * The descriptor, for an operation that completes later (a read or write on the thread
   * pool); `release()` when it has. A close() meanwhile closes the descriptor only after the
   * last release: a number closed under an operation in flight could be reused by another
   * file before the operation runs, and the write land there.
   */
  hold(entry?: string): number {
    const fd = this.open(entry);
    this.inFlight++;
    return fd;
  }

  release(): void {
    if (--this.inFlight === 0 && this.closing !== undefined) {
      const fd = this.closing;
      this.closing = undefined;
      closeSync(fd);
    }
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /**
   * Reads exactly `length` bytes at `position` into `buffer` at `offset`, then checks that the
   * file is still the verified one (once more after a file verified again). Every failure is a
   * LayerContentError naming `entry`.
   */
  readAt(buffer: Uint8Array, offset: number, length: number, position: number, entry?: string): void {
    const fd = this.fd;
    if (fd === undefined) throw this.error('ERR_LAYER_CLOSED', 'the layer was closed', entry);
    if (position + length > this.size) throw this.error('ERR_LAYER_CHANGED', `a read of ${length} bytes at ${position} passes its end (${this.size} bytes)`, entry);
    for (let attempt = 0; ; attempt++) {
      let done = 0;
      try {
        while (done < length) {
          const n = readSync(fd, buffer, offset + done, Math.min(length - done, MAX_READ), position + done);
          if (n === 0) break;
          done += n;
        }
      } catch (e) {
        throw this.error('ERR_LAYER_IO', `read failed: ${(e as Error).message}`, entry, e);
      }
      if (this.confirm(entry, attempt)) {
        if (done < length) throw this.error('ERR_LAYER_CHANGED', `ended ${length - done} bytes early`, entry);
        return;
      }
    }
  }

  /**
   * `length` bytes at `position`, for a copy by the kernel instead of a read (Layer's
   * contentSource), confirmed after the copy as readAt checks after its read.
   */
  range(position: number, length: number, entry?: string): FileRange {
    const fd = this.open(entry);
    if (position + length > this.size) throw this.error('ERR_LAYER_CHANGED', `a read of ${length} bytes at ${position} passes its end (${this.size} bytes)`, entry);
    return {
      fd,
      offset: position,
      size: length,
      confirm: (attempt, whole) => {
        if (!this.confirm(entry, attempt)) return false;
        if (!whole) throw this.error('ERR_LAYER_CHANGED', 'ended before its size', entry);
        return true;
      },
    };
  }

  /**
   * The file from its start as a stream of 1 MiB reads by position on the thread pool, each
   * through the held descriptor (hold/release: a close meanwhile waits for it). The stream
   * never closes the descriptor, and its destruction completes only once no read of it is in
   * flight.
   *
   * By default, the verified content: exactly `size` bytes, each read checked after it is
   * made (a change destroys the stream with the LayerContentError instead of passing the
   * bytes on); a verified file's bytes are also hashed as they pass, and a hash that is not
   * the verified digest destroys the stream before it ends (a write through a shared mapping
   * dirtied before the open moves no timestamp until writeback: only the bytes tell).
   *
   * `{ upTo }`: the bytes as they are, to the end of the file or `upTo` bytes, unchecked: the
   * open's own pass, which checks the file once it has hashed it.
   */
  stream(entry?: string, raw?: { upTo: number }): Readable {
    const file = this;
    const end = raw ? raw.upTo : this.size;
    const hash = !raw && this.digest !== undefined ? createHash('sha256') : undefined;
    let position = 0;
    let reading = false;
    let destroyed: (() => void) | undefined;
    return new Readable({
      highWaterMark: 1 << 20,
      read() {
        const want = Math.min(1 << 20, end - position);
        if (want <= 0) {
          if (hash && `sha256:${hash.digest('hex')}` !== file.digest) {
            file.failure ??= 'its bytes hash to another digest';
            return void this.destroy(file.error('ERR_LAYER_CHANGED', `changed after it was verified (${file.failure})`, entry));
          }
          return void this.push(null);
        }
        const buffer = Buffer.allocUnsafe(want);
        const attempt = (tries: number): void => {
          let fd: number;
          try {
            fd = file.hold(entry);
          } catch (e) {
            return void this.destroy(e as Error);
          }
          reading = true;
          read(fd, buffer, 0, want, position, (err, n) => {
            file.release();
            reading = false;
            if (destroyed) return destroyed();
            try {
              if (err) throw file.error('ERR_LAYER_IO', `read failed: ${err.message}`, entry, err);
              if (!raw && !file.confirm(entry, tries)) return attempt(tries + 1); // verified again: read it again
              if (!raw && n === 0) throw file.error('ERR_LAYER_CHANGED', `ended ${file.size - position} bytes early`, entry);
            } catch (e) {
              return void this.destroy(e as Error);
            }
            position += n;
            const chunk = buffer.subarray(0, n);
            hash?.update(chunk);
            this.push(n === 0 ? null : chunk);
          });
        };
        attempt(0);
      },
      destroy(err, callback) {
        if (!reading) return callback(err);
        destroyed = () => callback(err);
      },
    });
  }

  /**
   * Records the digest the layer measured for the whole file while its stamp was unchanged:
   * from now on a changed stamp is verified again against it instead of failing at once.
   */
  verified(digest: string): void {
    this.digest = digest;
  }

  /**
   * The fstat reads of the file are checked against (taken at open; once verified, the one
   * its bytes were verified under); undefined for a private file. A content store's saved
   * index records it, and a later open compares it (store/layer-index.ts).
   */
  get heldStamp(): BigIntStats | undefined {
    return this.stamp;
  }

  /** Throws ERR_LAYER_CHANGED if the held file is no longer the one verified. */
  check(entry?: string): void {
    // A stamp changed and verified again says nothing about bytes read before: there are none.
    this.confirm(entry, 0);
  }

  /**
   * After a read: true if the stamp is the verified one, so the bytes read were the verified
   * bytes; false if it had changed and the file was verified again (the caller reads again:
   * its bytes may predate the check). Throws ERR_LAYER_CHANGED if the file is not the
   * verified one, or if it changed again while read after a second verification (`attempt`).
   */
  private confirm(entry: string | undefined, attempt: number): boolean {
    const fd = this.fd;
    if (fd === undefined) throw this.error('ERR_LAYER_CLOSED', 'the layer was closed', entry);
    const was = this.stamp;
    if (!was) return true;
    if (this.failure === undefined) {
      const now = this.fstat(fd, entry);
      const change = changeOf(was, now);
      if (change === undefined) return true;
      this.failure = attempt > 0 ? `${change}, again while it was read` : this.verifyAgain(fd, now, change, entry);
      if (this.failure === undefined) return false;
    }
    throw this.error('ERR_LAYER_CHANGED', `changed ${this.digest === undefined ? 'while it was read' : 'after it was verified'} (${this.failure})`, entry);
  }

  /**
   * Hashes the whole file through the descriptor, between two fstats that must be `now`: the
   * stamp is adopted if the bytes are the verified digest's. Returns why not, otherwise.
   */
  private verifyAgain(fd: number, now: BigIntStats, change: string, entry: string | undefined): string | undefined {
    if (this.digest === undefined) return change; // still opening: nothing verified to compare with
    if (now.size !== this.stamp!.size) return change;
    let hashed: FileDigest;
    try {
      hashed = hashOpenFile(fd, readSync, createHash, this.size + 1);
    } catch (e) {
      throw this.error('ERR_LAYER_IO', `read failed: ${(e as Error).message}`, entry, e);
    }
    const after = this.fstat(fd, entry);
    if (changeOf(now, after) !== undefined) return `${change}, and again while it was hashed`;
    if (hashed.bytes !== this.size || hashed.digest !== this.digest) return `${change}; its bytes are not the verified ones`;
    this.stamp = after;
    return undefined;
  }

  private fstat(fd: number, entry: string | undefined): BigIntStats {
    try {
      return fstatSync(fd, { bigint: true });
    } catch (e) {
      throw this.error('ERR_LAYER_IO', `fstat failed: ${(e as Error).message}`, entry, e);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    unclosed.unregister(this);
    const fd = this.fd;
    this.fd = undefined;
    if (this.inFlight > 0) this.closing = fd;
    else closeSync(fd);
  }

  private error(code: LayerContentCode, reason: string, entry?: string, cause?: unknown): LayerContentError {
    return new LayerContentError(this.layer, entry, code, this.label !== undefined ? `${this.label}: ${reason}` : reason, { path: this.path, cause });
  }
}

/** What differs between two fstats of one descriptor (any of it means "verify again"), or undefined. */
function changeOf(was: BigIntStats, now: BigIntStats): string | undefined {
  if (now.dev !== was.dev || now.ino !== was.ino) return 'another file';
  if (now.size !== was.size) return `size ${was.size} -> ${now.size}`;
  const moved = [now.mtimeNs !== was.mtimeNs && 'mtime', now.ctimeNs !== was.ctimeNs && 'ctime', now.nlink !== was.nlink && 'link count'].filter(Boolean);
  return moved.length > 0 ? `${moved.join(' and ')} moved` : undefined;
}

import { constants, fstatSync, fsync, openSync, renameSync, rmSync, write } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { ContentFile } from '../content-file.js';
import type { ContentRef } from '../entry.js';
import { TarLayerError } from './errors.js';

/** Where a compressed layer's inflated tar is kept: written to `temp`, renamed to `final` once whole. */
export interface KeepTar {
  temp: string;
  final: string;
}

/** Bytes handed to writes not yet completed before the pass waits for them. */
const HIGH_WATER = 16 << 20;

/**
 * The inflated tar of a compressed layer, written as the streaming pass inflates it (the very
 * bytes the tar parse reads and the diff_id hashes), so that the layer's content is read from
 * it by position, as an uncompressed tar's is from its own file, and a content store can keep
 * it for the next open (store/layer-index.ts). Until the pass ends, entries refer to
 * `placeholder` (the temporary, private); `finish` makes it the named file and returns the
 * ContentFile that replaces it, verified by the diff_id.
 */
export class KeptTarWriter {
  readonly placeholder: ContentFile;
  private position = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  /** The inflated tar under its final name, once `finish` has made it. */
  kept: ContentFile | undefined;

  private constructor(private readonly keep: KeepTar, private readonly name: string, private readonly fd: number) {
    this.placeholder = ContentFile.private(fd, name, `the inflated tar ${keep.temp}`);
  }

  static create(keep: KeepTar, name: string): KeptTarWriter {
    const fd = openSync(keep.temp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    return new KeptTarWriter(keep, name, fd);
  }

  /** A pass-through stage that writes each chunk at its offset (the chunk is passed on at once, the write runs on the thread pool). */
  stage(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done: TransformCallback) => {
        if (this.failure) return done(this.error(this.failure));
        const at = this.position;
        this.position += chunk.length;
        this.inFlight += chunk.length;
        const put = (from: number): void => {
          write(this.placeholder.hold(), chunk, from, chunk.length - from, at + from, (err, n) => {
            this.placeholder.release();
            if (!err && from + n < chunk.length) return put(from + n);
            this.inFlight -= chunk.length;
            if (err) this.failure ??= err;
            this.wake();
          });
        };
        put(0);
        if (this.inFlight < HIGH_WATER) return done(null, chunk);
        this.waiter = () => done(this.failure ? this.error(this.failure) : null, chunk);
      },
    });
  }

  private wake(): void {
    if (this.inFlight >= HIGH_WATER / 2 && !this.failure) return;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async settled(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  /**
   * Once the pass has read the whole tar (`size` bytes hashing to `diffId`): waits for the
   * writes, fsyncs, renames the temporary to its final name, and opens that as the layer's
   * content file (its stamp is what a saved index records), with every entry's content
   * moved onto it. A failure removes the temporary.
   */
  async finish(content: Map<number, Buffer | ContentRef>, diffId: string, size: number): Promise<ContentFile> {
    await this.settled();
    try {
      if (this.failure) throw this.error(this.failure);
      if (this.position !== size) throw new TarLayerError(this.name, this.keep.temp, `the inflated tar written is ${this.position} bytes, the pass read ${size}`);
      // On the thread pool: a pull's other blobs go on meanwhile.
      await new Promise<void>((resolve, reject) => fsync(this.fd, (err) => (err ? reject(err) : resolve())));
      renameSync(this.keep.temp, this.keep.final);
    } catch (e) {
      this.abort();
      throw e instanceof TarLayerError ? e : this.error(e as Error);
    }
    // The file written, reopened read-only through its own descriptor, not by its name: another
    // file renamed over that name meanwhile (another open of the same layer, or anyone who can
    // write .layerfs/) is not what the pass hashed, and `verified` below must not vouch for it.
    // A saved index then names this inode, and store/layer-index.ts saves none when the name
    // no longer is it.
    const file = (() => {
      const fd = openSync(`/proc/self/fd/${this.fd}`, constants.O_RDONLY);
      return ContentFile.adopt(fd, this.keep.final, this.name, fstatSync(fd, { bigint: true }));
    })();
    this.placeholder.close();
    if (file.size !== size) {
      file.close();
      throw new TarLayerError(this.name, this.keep.final, `the inflated tar changed as it was renamed into place (${file.size} bytes, ${size} written)`);
    }
    file.verified(diffId);
    this.kept = file;
    for (const [inode, data] of content) {
      if (!Buffer.isBuffer(data) && data.file === this.placeholder) content.set(inode, { file, offset: data.offset, size: data.size });
    }
    return file;
  }

  /** After a failed pass: waits for writes in flight, closes and removes the temporary. */
  async abandon(): Promise<void> {
    await this.settled();
    this.abort();
  }

  private abort(): void {
    this.placeholder.close();
    rmSync(this.keep.temp, { force: true });
  }

  private error(e: Error): TarLayerError {
    const err = new TarLayerError(this.name, this.keep.temp, `the inflated tar could not be written (${e.message})`);
    err.cause = e;
    return err;
  }
}

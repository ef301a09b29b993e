import * as fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ContentFile } from '../layer/content-file.js';
import type { FileDigest, HashAside } from '../layer/tar/hash-file.js';
import { TarLayer } from '../layer/tar/tar-layer.js';
import { layerType } from '../oci/media-types.js';
import type { TarHeader } from '../tar/tar-header.js';
import { identityOf, keepFor, keptTarIs, privateDirsReal, save } from './layer-index.js';
import { PRIVATE_DIR } from './layout-dir.js';
import { keptTarPath } from './saved-index-paths.js';

/** Bytes the pass may lag behind the ingest before the ingest waits for it. */
const LAG_BYTES = 8 << 20;

interface Indexed {
  layer: TarLayer;
  headers: TarHeader[];
  tar: ContentFile | undefined;
}

/**
 * Verify once, from the ingest (issue 18: "pull, verify and index in one pass over the
 * bytes"): a layer blob's bytes, as a directory store's ingest writes and hashes them, are
 * also streamed through TarLayer's pass (inflated, the tar walked and its diff_id hashed, a
 * compressed layer's inflated tar written to `.layerfs/tars/` as the first open would write
 * it: kept-tar.ts), so that once the blob is verified and under its name, its entry index is
 * saved beside it (layer-index.ts's format and checks), and the first open of the layer reads
 * the index, not the blob. The index records the blob file's identity as the ingest placed it
 * (fstat of the descriptor it wrote, after the rename), so a blob changed later is opened in
 * full again, as any saved index's is.
 *
 * The index is a cache: a layer the pass cannot read (a broken tar, a bound, a store that
 * cannot be written) fails nothing here. Its blob is stored all the same, no index is saved,
 * and the first open reads it in full and says what is wrong with it.
 */
export class IngestIndexer {
  private readonly input = new PassThrough({ highWaterMark: LAG_BYTES });
  private readonly pass: Promise<Indexed | undefined>;
  private failed = false;
  private finished = false;
  /** Settles the digest the pass is given (the blob's, as the ingest verified it: the pass does not hash the blob again). */
  private settleHash!: { resolve: (d: FileDigest) => void; reject: (e: Error) => void };

  private constructor(private readonly store: { dir: string }, private readonly digest: string) {
    // The pass destroys its input when it fails; that error is the pass's to report (none).
    this.input.on('error', () => {});
    const digestOf = new Promise<FileDigest>((resolve, reject) => (this.settleHash = { resolve, reject }));
    digestOf.catch(() => {});
    const hashed: HashAside = { digest: digestOf, stop: async () => {} };
    const keep = keepFor(store, digest);
    let indexed: Omit<Indexed, 'layer'> | undefined;
    this.pass = (async () => {
      fs.mkdirSync(join(store.dir, PRIVATE_DIR, 'tars'), { recursive: true, mode: 0o755 });
      if (!privateDirsReal(store.dir)) throw new Error('a private directory of the store is a symlink');
      // Index only: the content of a compressed layer is in the kept tar, an uncompressed one's in the blob.
      const layer = await TarLayer.indexingStream(this.input, { name: digest, content: 'none' }, keep, (headers, files) => void (indexed = { headers, tar: files.tar }), hashed);
      if (!indexed) {
        layer.close();
        return undefined;
      }
      return { layer, ...indexed };
    })().catch(() => {
      this.failed = true;
      this.input.destroy();
      return undefined;
    });
  }

  /** An indexer for the blob `expected` when its media type is a filesystem layer's, else undefined. */
  static start(store: { dir: string }, expected: { digest: string; mediaType?: string | undefined }): IngestIndexer | undefined {
    // Through a symlinked private directory the kept tar and index would land outside the store (layer-index.ts).
    if ('refused' in layerType(expected.mediaType) || !privateDirsReal(store.dir)) return undefined;
    return new IngestIndexer(store, expected.digest);
  }

  /** The next bytes of the blob (a buffer the caller no longer changes): resolves when the pass has room for more. */
  async push(bytes: Buffer): Promise<void> {
    if (this.failed || this.input.destroyed) return;
    if (this.input.write(bytes)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.input.off('drain', done);
        this.input.off('close', done);
        resolve();
      };
      this.input.on('drain', done);
      this.input.on('close', done);
      void this.pass.then(done);
    });
  }

  /**
   * Every byte was pushed and the blob verified (`size` bytes hashing to the digest): the pass
   * is let finish (before the blob is placed, so the index names the blob's final stamp).
   */
  async ended(size: number): Promise<void> {
    this.finished = true;
    this.settleHash.resolve({ digest: this.digest, bytes: size });
    if (!this.input.destroyed) this.input.end();
    await this.pass;
  }

  /**
   * Once the blob is under its digest name, `blob` its fstat as placed: saves the index
   * if the pass read the layer whole and hashed it to this very digest. Never throws.
   */
  async save(blob: BigIntStats): Promise<boolean> {
    const done = await this.pass;
    if (!done) return false;
    try {
      const { layer, headers, tar } = done;
      if (layer.info.digest !== this.digest) {
        this.removeKept(tar);
        return false;
      }
      await save(this.store, this.digest, layer.info, { headers, blob: identityOf(blob), tar: tar && identityOf(tar.heldStamp) });
      return true;
    } catch {
      return false;
    } finally {
      done.layer.close();
    }
  }

  /** The ingest failed: the pass is stopped and what it kept removed. */
  async abandon(): Promise<void> {
    this.settleHash.reject(new Error('the ingest failed'));
    if (!this.finished) this.input.destroy();
    const done = await this.pass;
    if (!done) return;
    this.removeKept(done.tar);
    done.layer.close();
  }

  /** The kept tar under its name, if it is still the file this pass wrote (another open's may have replaced it). */
  private removeKept(tar: ContentFile | undefined): void {
    if (!tar) return;
    try {
      if (keptTarIs(this.store, this.digest, identityOf(tar.heldStamp))) fs.rmSync(keptTarPath(this.store, this.digest), { force: true });
    } catch {
      // Gone already.
    }
  }
}

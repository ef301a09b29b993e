import { marked, reach, summarize, type BlobLookup } from './blob-graph.js';
import type { BlobBody, ContentStore, ExpectedBlob, GcResult, IngestResult, Lease, StoreDescriptor, StoreImages } from './content-store.js';
import { REF_NAME } from './content-store.js';
import { parseDigest } from './digest.js';
import { StoreError } from './errors.js';
import { checkManifestDescriptor, checkRef, withTag, withoutTag, type IndexFile } from './index-file.js';

/**
 * What both stores share: tagging, resolving, sizing and gc over a few primitives each store
 * gives (its blobs, its index, its lock and what its live leases and ingests hold).
 */
export abstract class StoreBase implements ContentStore {
  abstract readonly label: string;
  abstract has(digest: string): Promise<boolean>;
  abstract read(digest: string, maxBytes?: number): Promise<Buffer>;
  abstract ingest(expected: ExpectedBlob, body: BlobBody, options?: { lease?: Lease }): Promise<IngestResult>;
  abstract lease(): Promise<Lease>;

  /** A stored blob's size, undefined when absent (the digest already checked). */
  protected abstract sizeOf(digest: string): Promise<number | undefined>;
  /** Runs `fn` holding the store's lock: no other tag, untag, gc or lease update meanwhile, in any process. */
  protected abstract locked<T>(fn: () => Promise<T>): Promise<T>;
  protected abstract readIndex(): Promise<IndexFile>;
  protected abstract writeIndex(index: IndexFile): Promise<void>;
  /** Every stored blob, with its size. */
  protected abstract listBlobs(): Promise<Array<{ digest: string; size: number }>>;
  protected abstract removeBlob(digest: string): Promise<void>;
  /** The digests live leases and ingests in progress hold; with `clean`, what dead ones left is removed. */
  protected abstract held(clean: boolean): Promise<Set<string>>;

  protected lookup(): BlobLookup {
    return { label: this.label, sizeOf: (d) => this.sizeOf(parseDigest(d, this.label).digest), read: (d, max) => this.read(d, max) };
  }

  async tag(ref: string, manifest: StoreDescriptor): Promise<void> {
    checkRef(ref);
    const desc = checkManifestDescriptor(manifest, this.label);
    await this.locked(async () => {
      const stored = await this.sizeOf(desc.digest);
      if (stored === undefined) throw new StoreError('ERR_STORE_UNKNOWN_BLOB', this.label, `cannot tag ${ref}: the manifest is not stored`, desc.digest);
      if (stored !== desc.size) throw new StoreError('ERR_STORE_SIZE_MISMATCH', this.label, `cannot tag ${ref}: the stored manifest has ${stored} bytes, the descriptor says ${desc.size}`, desc.digest);
      const { needed } = await reach(desc, this.lookup());
      if (needed.size > 0) throw new StoreError('ERR_STORE_UNKNOWN_BLOB', this.label, `cannot tag ${ref}: the image needs blobs the store lacks: ${[...needed].join(', ')}`, desc.digest);
      await this.writeIndex(withTag(await this.readIndex(), ref, desc));
    });
  }

  async untag(ref: string): Promise<boolean> {
    checkRef(ref);
    return this.locked(async () => {
      const index = await this.readIndex();
      const after = withoutTag(index, ref);
      if (after.manifests.length === index.manifests.length) return false;
      await this.writeIndex(after);
      return true;
    });
  }

  async resolve(ref: string): Promise<StoreDescriptor> {
    checkRef(ref);
    const found = (await this.readIndex()).manifests.filter((m) => m.annotations?.[REF_NAME] === ref);
    if (found.length === 0) throw new StoreError('ERR_STORE_UNKNOWN_REF', this.label, `no image has ref ${ref}`);
    return found[found.length - 1]!;
  }

  async images(): Promise<StoreImages> {
    return summarize((await this.readIndex()).manifests, this.lookup());
  }

  /**
   * Mark (every blob an index.json entry reaches) and sweep, holding the lock throughout, so
   * no tag and no lease gains a digest between the two: a blob a lease or an ingest in
   * progress holds is kept; a tagged manifest that cannot be read stops gc before anything is
   * removed.
   */
  async gc(options: { dryRun?: boolean } = {}): Promise<GcResult> {
    const dryRun = options.dryRun === true;
    return this.locked(async () => {
      const live = await marked((await this.readIndex()).manifests, this.lookup());
      const held = await this.held(!dryRun);
      const removed: GcResult['removed'] = [];
      let bytes = 0;
      for (const blob of await this.listBlobs()) {
        if (live.has(blob.digest) || held.has(blob.digest)) continue;
        if (!dryRun) await this.removeBlob(blob.digest);
        removed.push(blob);
        bytes += blob.size;
      }
      return { removed, bytes, dryRun };
    });
  }
}

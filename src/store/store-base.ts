import { marked, reach, summarize, type BlobLookup } from './blob-graph.js';
import type { BlobBody, ContentStore, ExpectedBlob, GcResult, IngestOptions, IngestResult, Lease, StoreDescriptor, StoreImages } from './content-store.js';
import { REF_NAME } from './content-store.js';
import { checkSize, parseDigest, type ParsedDigest } from './digest.js';
import { valueError } from '../util/options.js';
import { StoreError } from './errors.js';
import { checkManifestDescriptor, checkRef, withTag, withoutTag, type IndexFile } from './index-file.js';

/**
 * What both stores share: ingest's checks, tagging, resolving, sizing and gc over a few
 * primitives each store gives (its blobs and how one is written, its index, its lock, its
 * leases and what its live leases and ingests hold).
 */
export abstract class StoreBase implements ContentStore {
  abstract readonly label: string;
  abstract has(digest: string): Promise<boolean>;
  abstract read(digest: string, maxBytes?: number): Promise<Buffer>;
  abstract lease(): Promise<Lease>;

  /** `lease` when it is a live lease of this store, to add a digest to; else undefined. */
  protected abstract ownLease(lease: Lease): { add(digest: string): Promise<void> | void } | undefined;
  /** Streams a blob not yet stored in (streamVerified), keeping it only once verified whole. */
  protected abstract writeBlob(expected: ExpectedBlob, parsed: ParsedDigest, body: BlobBody, options: IngestOptions): Promise<void>;

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

  async ingest(expected: ExpectedBlob, body: BlobBody, options: IngestOptions = {}): Promise<IngestResult> {
    const parsed = parseDigest(expected?.digest, this.label);
    const size = checkSize(expected.size, 'expected.size');
    if (options.lease !== undefined) {
      const lease = this.ownLease(options.lease);
      if (!lease) throw valueError('options.lease', 'must be a live lease of this store', options.lease);
      // Under the lock, so a gc marks either before the digest is held (and the blob is
      // not yet looked for) or after (and keeps it).
      await this.locked(async () => lease.add(parsed.digest));
    }
    const existing = await this.sizeOf(parsed.digest);
    if (existing !== undefined) {
      await body[Symbol.asyncIterator]().return?.();
      if (existing !== size) throw new StoreError('ERR_STORE_SIZE_MISMATCH', this.label, `stored with ${existing} bytes, expected ${size}`, parsed.digest);
      return { digest: parsed.digest, size, written: false };
    }
    await this.writeBlob({ ...expected, size }, parsed, body, options);
    return { digest: parsed.digest, size, written: true };
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
    const run = async () => {
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
    };
    // A dry run removes nothing, so it takes no lock (a file made in the store): `layerfs
    // images` and `prune --dry-run` read a store they cannot write (a read-only mount), and
    // do not wait for a prune. What a tag or lease meanwhile changes, the real gc sees.
    return dryRun ? run() : this.locked(run);
  }
}

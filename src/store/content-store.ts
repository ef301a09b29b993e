/**
 * What a content store holds and answers, whichever is behind it (a directory that is an OCI
 * image layout, directory-store.ts; or memory, memory-store.ts). docs/store.md says what is
 * verified when and the concurrency rule.
 */

/** What a blob must be: its digest and size (from a manifest, or a registry's descriptor). */
export interface ExpectedBlob {
  digest: string;
  size: number;
  mediaType?: string;
}

/** A descriptor as index.json holds it (descriptor.md). */
export interface StoreDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

/** The bytes of a blob being ingested: a Node Readable, a web ReadableStream, any async iterable. */
export type BlobBody = AsyncIterable<Uint8Array>;

export interface IngestResult {
  digest: string;
  size: number;
  /** False when the blob was already stored: nothing was read from the body or written. */
  written: boolean;
}

/**
 * Keeps the blobs a writer has ingested but not yet tagged (a pull in progress) from gc,
 * until released. Every ingest given the lease adds its digest to it first.
 */
export interface Lease {
  readonly digests: ReadonlySet<string>;
  release(): Promise<void>;
}

/** One tagged image: its ref, its manifest (or index), and the bytes of the blobs it reaches. */
export interface StoredImage {
  ref: string;
  manifest: StoreDescriptor;
  /** The stored blobs it reaches (itself, child manifests, configs, layers), each counted once. */
  bytes: number;
  /** Of those, the bytes no other ref reaches. */
  uniqueBytes: number;
  /** Digests it names that the store lacks (an index's other platforms, for one). */
  missing: string[];
}

export interface StoreImages {
  images: StoredImage[];
  /** The blobs every ref reaches, shared ones counted once. */
  totalBytes: number;
}

export interface GcResult {
  /** The blobs removed (or, with dryRun, that would be). */
  removed: Array<{ digest: string; size: number }>;
  bytes: number;
  dryRun: boolean;
}

export interface IngestOptions {
  /** What is ingested under it survives gc until it is released. */
  lease?: Lease;
  /**
   * A filesystem layer (by `expected.mediaType`) is indexed in the same pass as it is written
   * and hashed, and its entry index saved beside it once it is stored (verify once: the first
   * open of the layer then reads no byte of the blob). A directory store does; the memory
   * store keeps no index. A layer the pass cannot read is stored all the same, without an index.
   */
  index?: boolean;
}

export interface ContentStore {
  /** Where the store is, for messages: its directory, or `memory`. */
  readonly label: string;
  /** Whether a whole, verified blob is stored under `digest` (checked against the grammar first). */
  has(digest: string): Promise<boolean>;
  /** A stored blob's bytes, whole (for manifests and configs: read with a bound, `maxBytes`). */
  read(digest: string, maxBytes?: number): Promise<Buffer>;
  /**
   * Stores `body` as the blob `expected` names: hashed and counted while it streams, stopped
   * at once past `expected.size`, and stored under the digest only if both match; a blob
   * already stored is not read or written again.
   */
  ingest(expected: ExpectedBlob, body: BlobBody, options?: IngestOptions): Promise<IngestResult>;
  /** A lease for a pull in progress: what is ingested under it survives gc until released. */
  lease(): Promise<Lease>;
  /** Names `manifest` by `ref` in index.json (replacing that ref's entry); its blob and, for an image manifest, its config and layers must be stored. */
  tag(ref: string, manifest: StoreDescriptor): Promise<void>;
  /** Removes `ref` from index.json; false when no entry had it. Its blobs stay until gc. */
  untag(ref: string): Promise<boolean>;
  /** The descriptor tagged `ref`, or ERR_STORE_UNKNOWN_REF. */
  resolve(ref: string): Promise<StoreDescriptor>;
  images(): Promise<StoreImages>;
  /** Removes the blobs no index entry reaches and no live lease or ingest holds. */
  gc(options?: { dryRun?: boolean }): Promise<GcResult>;
}

/** The annotation that names an image of a layout (annotations.md). */
export const REF_NAME = 'org.opencontainers.image.ref.name';

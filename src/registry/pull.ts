import type { Descriptor, Platform } from '../image/descriptor.js';
import type { Lease } from '../store/content-store.js';
import { StoreError } from '../store/errors.js';
import { fetchBlob, newTransfer } from './blob.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { resolveImage } from './manifest.js';
import { wholeNumber, type RegistryOptions } from './options.js';
import { formatReference, parseReference } from './reference.js';

/** A descriptor as the store takes it: every field it verifies against. */
export interface BlobDescriptor {
  digest: string;
  size: number;
  mediaType: string;
}

/**
 * Where a pull puts what it fetched: a ContentStore (src/store/) is one as it is. `ingest`
 * must verify the body against `expected` while it writes (digest and size) and keep nothing
 * under the digest unless it matches; pull relies on it for every blob.
 */
export interface PullSink {
  has(digest: string): boolean | Promise<boolean>;
  /** `index`: a layer is indexed as it is written (a directory store saves its entry index, verify once: IngestOptions). */
  ingest(expected: BlobDescriptor, body: AsyncIterable<Uint8Array>, options?: { lease?: Lease; index?: boolean }): Promise<unknown>;
  /**
   * Names the manifest: called last, after every blob and the manifest itself are in. `platform`
   * when it was chosen from an index (the index's descriptor of it), so that an open of the ref
   * can tell it was pulled for that platform (registry/stored-answer.ts).
   */
  tag(ref: string, desc: BlobDescriptor & { platform?: Platform }): unknown;
  /**
   * A store's lease: when the sink has one, pull takes it before the first ingest, gives it to
   * every ingest and releases it after the tag (or the failure), so a gc while the pull runs
   * keeps the blobs already in but not yet tagged (docs/store.md, "Leases").
   */
  lease?(): Promise<Lease>;
}

export interface PullOptions extends RegistryOptions {
  sink: PullSink;
  /** `os/arch[/variant]` or a Platform, for an index; the running platform by default. */
  platform?: string | Platform;
  /** How many blobs are fetched at once; 3, as containerd's default (max_concurrent_downloads). */
  concurrency?: number;
  /**
   * Called as the pull goes: once per blob when the manifest is resolved (`queued`, or
   * `present` when the sink has it), then as its bytes arrive (`fetching`, `received` the
   * bytes of this blob so far: back to 0 when a resume was answered with the whole blob), and
   * `done` once the sink has it verified. Synchronous and cheap: it runs on every chunk.
   */
  onProgress?: (event: PullProgress) => void;
}

export interface PullProgress {
  digest: string;
  mediaType: string;
  size: number;
  /** The blob's place in the manifest: 0 the config, then 1.. the layers. */
  index: number;
  state: 'queued' | 'present' | 'fetching' | 'done';
  received: number;
}

export interface PullResult {
  /** The canonical reference (`host/repo:tag` or `host/repo@digest`), as given to `sink.tag`. */
  reference: string;
  manifest: BlobDescriptor;
  /** Blobs fetched, and blobs the sink already had (config and layers). */
  fetched: Descriptor[];
  present: Descriptor[];
  /** The manifest's config and layers, in its order. */
  blobs: Descriptor[];
  /** Bytes of blobs received from the registry: the fetched blobs' sizes, plus what a resume answered with the whole blob made fetch twice. */
  received: number;
  /** Requests that resumed a cut blob body (`Range`), over every blob. */
  resumes: number;
}

export const DEFAULT_CONCURRENCY = 3;

/** Runs `work` over `items`, at most `limit` at once; the first failure stops new work and is thrown once the running ones end. */
export async function bounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * Pulls an image from a registry into a sink (a content store): resolves the reference to one
 * image manifest (a platform chosen from an index), fetches the config and layers the sink
 * lacks, at most `concurrency` at once, each through `sink.ingest` (which verifies it), then
 * ingests the manifest's own bytes and tags it last, so a tag never names missing content.
 */
export async function pull(reference: string, options: PullOptions): Promise<PullResult> {
  const { sink } = options;
  const ref = parseReference(reference);
  const client = new RegistryClient(ref, options);
  const limit = wholeNumber(options.concurrency ?? DEFAULT_CONCURRENCY, 'concurrency', 1);
  const image = await resolveImage(client, options.platform);
  type Blob = Descriptor & { mediaType: string };
  const fetched: Blob[] = [];
  const present: Blob[] = [];
  const seen = new Set<string>();
  const wanted: Blob[] = [];
  const lease = await sink.lease?.();
  const held = lease ? { lease } : undefined;
  const name = formatReference(ref);
  const manifest = image.descriptor;
  let received = 0;
  let resumes = 0;
  const progress = options.onProgress;
  // A digest listed twice is the first's place (it is fetched once).
  const place = new Map<string, number>();
  image.blobs.forEach((b, i) => place.has(b.digest) || place.set(b.digest, i));
  const report = (blob: Blob, state: PullProgress['state'], bytes: number) =>
    progress?.({ digest: blob.digest, mediaType: blob.mediaType, size: blob.size, index: place.get(blob.digest)!, state, received: bytes });
  /**
   * Whether the sink wrote it (a store's IngestResult says; any other sink, when ingest
   * resolves). A resume answered with the whole blob (blob.ts) fails that ingest, whose
   * temporary the sink discards, and the blob is ingested again from that response, from byte 0.
   */
  const ingestBlob = async (blob: Blob): Promise<boolean> => {
    const transfer = newTransfer();
    const onBytes = progress ? (n: number) => report(blob, 'fetching', n) : undefined;
    try {
      for (;;) {
        // The response this try starts from: a failure that leaves the same one pending failed
        // before the body was read (the sink's own error), and is not retried.
        const pending = transfer.restart;
        try {
          // Pull, verify and index in one pass (issue 18): the store indexes a layer as it writes it.
          const result = await sink.ingest({ digest: blob.digest, size: blob.size, mediaType: blob.mediaType }, fetchBlob(client, blob, transfer, onBytes), { ...held, index: true });
          return (result as { written?: unknown } | undefined)?.written !== false;
        } catch (e) {
          if (!transfer.restart || transfer.restart === pending) throw ownError(e);
        }
      }
    } finally {
      transfer.restart?.close();
      received += transfer.received;
      resumes += transfer.resumes;
    }
  };
  try {
    for (const blob of image.blobs) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      if (!(await sink.has(blob.digest))) wanted.push(blob);
      // A blob already stored is held too, so a gc between this check and the tag keeps it:
      // the store finds it and returns the body unread (an unstarted generator: no request),
      // or, when a gc removed it meanwhile, reads it, and it counts as fetched.
      else if (held && (await ingestBlob(blob))) fetched.push(blob);
      else present.push(blob);
    }
    for (const blob of present) report(blob, 'present', 0);
    for (const blob of fetched) report(blob, 'done', blob.size);
    for (const blob of wanted) report(blob, 'queued', 0);
    await bounded(wanted, limit, async (blob) => {
      await ingestBlob(blob);
      fetched.push(blob);
      report(blob, 'done', blob.size);
    });
    if (held || !(await sink.has(manifest.digest))) await sink.ingest(manifest, once(image.bytes), held);
    await sink.tag(name, image.platform ? { ...manifest, platform: image.platform } : manifest);
  } finally {
    await lease?.release();
  }
  return { reference: name, manifest, fetched, present, blobs: image.blobs, received, resumes };
}

/**
 * The registry's own error when a store wrapped it: a body that failed (a cut blob out of
 * resumes, a stall, a size the descriptor did not give) reaches the store's ingest, which
 * reports ERR_STORE_BODY with it as the cause; the registry's code names what went wrong.
 */
function ownError(e: unknown): unknown {
  return e instanceof StoreError && e.code === 'ERR_STORE_BODY' && e.cause instanceof RegistryError ? e.cause : e;
}

import type { Descriptor, Platform } from '../image/descriptor.js';
import { fetchBlob } from './blob.js';
import { RegistryClient } from './client.js';
import { resolveImage } from './manifest.js';
import type { RegistryOptions } from './options.js';
import { formatReference, parseReference } from './reference.js';

/** A descriptor as the store takes it: every field it verifies against. */
export interface BlobDescriptor {
  digest: string;
  size: number;
  mediaType: string;
}

/**
 * Where a pull puts what it fetched: the content store's interface (src/store/). `ingest`
 * must verify the body against `expected` while it writes (digest and size) and keep nothing
 * under the digest unless it matches; pull relies on it for every blob.
 */
export interface PullSink {
  has(digest: string): boolean | Promise<boolean>;
  ingest(expected: BlobDescriptor, body: AsyncIterable<Uint8Array>): Promise<unknown>;
  /** Names the manifest: called last, after every blob and the manifest itself are in. */
  tag(ref: string, desc: BlobDescriptor): unknown;
}

export interface PullOptions extends RegistryOptions {
  sink: PullSink;
  /** `os/arch[/variant]` or a Platform, for an index; the running platform by default. */
  platform?: string | Platform;
  /** How many blobs are fetched at once; 3, as containerd's default (max_concurrent_downloads). */
  concurrency?: number;
}

export interface PullResult {
  /** The canonical reference (`host/repo:tag` or `host/repo@digest`), as given to `sink.tag`. */
  reference: string;
  manifest: BlobDescriptor;
  /** Blobs fetched, and blobs the sink already had (config and layers). */
  fetched: Descriptor[];
  present: Descriptor[];
}

export const DEFAULT_CONCURRENCY = 3;

/** Runs `work` over `items`, at most `limit` at once; the first failure stops new work and is thrown once the running ones end. */
async function bounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
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
  const limit = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`The "concurrency" option must be a whole number >= 1, not ${limit}`);
  const image = await resolveImage(client, options.platform);
  const fetched: Descriptor[] = [];
  const present: Descriptor[] = [];
  const seen = new Set<string>();
  const wanted: Descriptor[] = [];
  for (const blob of image.blobs) {
    if (seen.has(blob.digest)) continue;
    seen.add(blob.digest);
    if (await sink.has(blob.digest)) present.push(blob);
    else wanted.push(blob);
  }
  await bounded(wanted, limit, async (blob) => {
    await sink.ingest({ digest: blob.digest, size: blob.size, mediaType: blob.mediaType! }, fetchBlob(client, blob));
    fetched.push(blob);
  });
  const manifest = image.descriptor;
  if (!(await sink.has(manifest.digest))) await sink.ingest(manifest, once(image.bytes));
  const name = formatReference(ref);
  await sink.tag(name, manifest);
  return { reference: name, manifest, fetched, present };
}

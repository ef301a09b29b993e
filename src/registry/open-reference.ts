import { lstat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Image } from '../image/image.js';
import { openImageManifest as openManifestAt, openManifestFiles, type ImageManifest } from '../image/image-manifest.js';
import { checkOpenImageOptions, type OpenImageOptions } from '../image/image-options.js';
import { storeImageFiles } from '../image/store-source.js';
import type { ContentStore, StoreDescriptor } from '../store/content-store.js';
import { openContentStore } from '../store/directory-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { StoreError } from '../store/errors.js';
import { isIndex, isManifest } from '../oci/media-types.js';
import { typeError, valueError } from '../util/options.js';
import { fetchBlob } from './blob.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { MAX_MANIFEST_BYTES, resolveImage } from './manifest.js';
import type { RegistryOptions } from './options.js';
import { pull } from './pull.js';
import { formatReference, parseReference, type Reference } from './reference.js';
import { answersPlatform } from './stored-answer.js';

// openImage's reference form (docs/api.md, "Opening by reference"): a path, a registry
// reference or a ref name of a content store, opened from the store, pulled into it first when
// the store lacks it. In registry/, not image/: it pulls, and image/ is below registry/ in the
// tiers (docs/architecture.md); src/index.ts exports it as `openImage`.

/** When a reference is fetched, as podman's --pull: 'missing' (the default), 'always', 'never'. */
export type PullPolicy = 'missing' | 'always' | 'never';
const PULL_POLICIES: readonly PullPolicy[] = ['missing', 'always', 'never'];

export interface OpenReferenceOptions extends OpenImageOptions, RegistryOptions {
  /**
   * Where references are looked up and pulled into: a ContentStore, or the directory of one
   * (made when a pull needs it). Default: a new MemoryStore for this call, so nothing is
   * written anywhere the caller did not name (the CLI names its cache directory).
   */
  store?: ContentStore | string;
  /** Default 'missing'. A digest reference the store holds is never fetched, whatever this says. */
  pull?: PullPolicy;
  /** Blobs fetched at once by a pull (pull()'s option). */
  concurrency?: number;
}

/**
 * The largest config `openImageManifest` fetches from a registry into memory: containers/image's
 * iolimits.MaxConfigBodySize (4 MiB), as `skopeo inspect docker://` reads it. A descriptor's
 * size is the registry's word, so it bounds nothing by itself.
 */
const MAX_CONFIG_BYTES = 4 << 20;

/** The scheme that makes a string a registry reference whatever else it could be (skopeo's docker transport). */
export const DOCKER_TRANSPORT = 'docker://';

/** What a target string names, by the written rule (docs/api.md): checked in this order. */
export type ImageTarget = { path: string } | { reference: Reference; given: string };

/**
 * 1. `docker://REF`: a registry reference, always (docker's short forms: `docker://busybox` is
 *    docker.io/library/busybox:latest). 2. A path that exists (lstat: a dangling symlink too) is
 *    that path, always. 3. A string docker's grammar reads as a reference (`busybox:latest`,
 *    `127.0.0.1:5000/app@sha256:...`) is one. 4. Anything else is a path (openImage's error
 *    for a missing one). So `./busybox:latest` (a `.` first component is no host) is a path.
 */
export async function imageTarget(target: string): Promise<ImageTarget> {
  if (typeof target !== 'string') throw typeError('target', 'string', target);
  if (target.startsWith(DOCKER_TRANSPORT)) {
    const given = target.slice(DOCKER_TRANSPORT.length);
    return { reference: parseReference(given), given };
  }
  if (await lstat(target).then(() => true, () => false)) return { path: target };
  try {
    return { reference: parseReference(target), given: target };
  } catch (e) {
    if (e instanceof RegistryError) return { path: target };
    throw e;
  }
}

interface Reading {
  image: OpenImageOptions;
  store: ContentStore | string | undefined;
  pull: PullPolicy;
  registry: RegistryOptions & { concurrency?: number };
}

function readOptions(given: OpenReferenceOptions | undefined): Reading {
  const image = checkOpenImageOptions(given ?? {});
  const o = (given ?? {}) as Record<string, unknown>;
  const pullPolicy = o.pull ?? 'missing';
  if (!PULL_POLICIES.includes(pullPolicy as PullPolicy)) throw valueError('options.pull', "must be one of: 'missing', 'always', 'never'", pullPolicy);
  const store = o.store;
  if (store !== undefined && typeof store !== 'string' && (typeof store !== 'object' || store === null || typeof (store as ContentStore).resolve !== 'function')) {
    throw typeError('options.store', 'ContentStore or string (a store directory)', store);
  }
  const registry: Reading['registry'] = {};
  for (const key of ['credentials', 'insecure', 'idleTimeout', 'maxRedirects', 'concurrency'] as const) if (o[key] !== undefined) (registry as Record<string, unknown>)[key] = o[key];
  return { image, store: store as Reading['store'], pull: pullPolicy as PullPolicy, registry };
}

/** The store to look in: undefined when it is a directory not made yet and nothing may be pulled into it. */
async function theStore(store: ContentStore | string | undefined, mayPull: boolean): Promise<ContentStore | undefined> {
  if (store === undefined) return new MemoryStore();
  if (typeof store !== 'string') return store;
  if (!mayPull && !existsSync(store)) return undefined;
  return openContentStore(store, { create: mayPull });
}

/** The descriptor `name` is tagged with, or undefined (no such ref, or not a ref the store's grammar takes). */
async function tagged(store: ContentStore, name: string): Promise<StoreDescriptor | undefined> {
  try {
    return await store.resolve(name);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'ERR_STORE_UNKNOWN_REF') return undefined;
    if ((e as { code?: string }).code === 'ERR_INVALID_ARG_VALUE') return undefined;
    throw e;
  }
}

/** A manifest or index the store holds by digest (a digest reference), its descriptor read from the blob. */
async function byDigest(store: ContentStore, digest: string): Promise<StoreDescriptor | undefined> {
  if (!(await store.has(digest))) return undefined;
  const bytes = await store.read(digest, MAX_MANIFEST_BYTES);
  let mediaType: unknown;
  try {
    mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
  } catch {
    mediaType = undefined;
  }
  // No mediaType (allowed in a manifest): the open reads the blob's shape, as for a layout entry.
  return { digest, size: bytes.length, mediaType: typeof mediaType === 'string' && (isIndex(mediaType) || isManifest(mediaType)) ? mediaType : 'application/vnd.oci.image.manifest.v1+json' };
}

type Located = { path: string } | { store: ContentStore; manifest: StoreDescriptor } | { remote: Reference; name: string; store: ContentStore | undefined };

/** Where `target` is: a path, an image in the store, or (manifest only, when not stored and fetching is allowed) the registry. */
async function locate(target: string, o: Reading, fetchImage: boolean): Promise<Located> {
  const t = await imageTarget(target);
  if ('path' in t) return t;
  if (o.image.ref !== undefined) throw refWithReference(target);
  const name = formatReference(t.reference);
  const digest = t.reference.digest;
  const store = await theStore(o.store, o.pull !== 'never' && fetchImage);
  let notAsked: string | undefined;
  if (store) {
    const byName = async () => (await tagged(store, name)) ?? (t.given !== name ? await tagged(store, t.given) : undefined);
    // A digest names content that cannot change: the store's copy is the image, whatever `pull` says.
    const found = digest !== undefined ? ((await byDigest(store, digest)) ?? (await byName())) : o.pull === 'always' ? undefined : await byName();
    if (found) {
      const fits = await answersPlatform(store, found, o.image);
      if (fits.ok) return { store, manifest: found };
      notAsked = fits.why;
    }
  }
  const label = typeof o.store === 'string' ? o.store : store?.label ?? 'memory';
  if (o.pull === 'never') {
    throw new RegistryError('ERR_NOT_STORED', t.given, `${notAsked ? `${notAsked} (store ${label})` : `not in the store ${label}`}, and pull is 'never'`);
  }
  if (!fetchImage) return { remote: t.reference, name, store };
  try {
    const pulled = await pull(name, { sink: store!, ...o.registry, ...(o.image.platform !== undefined ? { platform: o.image.platform } : {}) });
    return { store: store!, manifest: pulled.manifest };
  } catch (e) {
    throw bareReferenceFailed(target, t, e);
  }
}

/**
 * Opens an image by path or by reference (the rule: imageTarget). A reference opens from the
 * content store (`store`), pulled into it first unless the store holds it (`pull`), and always
 * by the manifest found or pulled, never by a second look-up of the tag.
 */
export async function openImage(target: string, options?: OpenReferenceOptions): Promise<Image> {
  const o = readOptions(options);
  const where = await locate(target, o, true);
  // Loaded here: openImageManifest's callers (inspect) load no layer code.
  const image = await import('../image/image.js');
  if ('path' in where) return image.openImage(where.path, o.image);
  if (!('manifest' in where)) throw new Error('locate returns the registry only when asked for a manifest');
  return image.openImageFiles(storeImageFiles(where.store, where.manifest), 'oci-layout', o.image);
}

/**
 * The manifest and config openImage would open, no layer read (what `inspect` shows). A
 * reference the store lacks is not pulled: its manifest and config are fetched from the
 * registry (verified: the manifest against the digest asked for and the one the registry
 * announces, the config by its digest), as `skopeo inspect docker://` reads them; its layers
 * are taken as present there (distribution accepts a manifest only when it holds every blob).
 */
export async function openImageManifest(target: string, options?: OpenReferenceOptions): Promise<ImageManifest> {
  const o = readOptions(options);
  const where = await locate(target, o, false);
  if ('path' in where) return openManifestAt(where.path, o.image);
  if ('manifest' in where) return openManifestFiles(storeImageFiles(where.store, where.manifest), 'oci-layout', o.image);
  const client = new RegistryClient(where.remote, o.registry);
  const memory = new MemoryStore();
  const resolved = await (async () => {
    const r = await resolveImage(client, o.image.platform);
    await memory.ingest(r.descriptor, (async function* () {
      yield r.bytes;
    })());
    const config = r.blobs[0];
    if (config && config.size > MAX_CONFIG_BYTES) throw client.error('ERR_SIZE', `the config is ${config.size} bytes (its descriptor), over the ${MAX_CONFIG_BYTES} read into memory to inspect it`, config.digest);
    if (config) await memory.ingest(config, fetchBlob(client, config));
    return r;
  })().catch((e: unknown) => {
    throw bareReferenceFailed(target, { given: where.remote.given }, e);
  });
  const layers = resolved.blobs.slice(1);
  const { platform: _, ...rest } = o.image;
  return openManifestFiles(storeImageFiles(memory, resolved.descriptor, `${DOCKER_TRANSPORT}${where.name}`, new Set(layers.map((l) => l.digest))), 'oci-layout', rest);
}

/**
 * A bare target (no `docker://`) that is no path was taken as a reference (rule 3), and the
 * registry failed: said with both readings, so a mistyped relative path is not reported only as a
 * registry's answer.
 */
function bareReferenceFailed(target: string, t: { given: string }, e: unknown): unknown {
  if (target.startsWith(DOCKER_TRANSPORT) || !(e instanceof RegistryError)) return e;
  return new RegistryError(e.code, t.given, `no such file or directory, and as a registry reference: ${e.message}`, e.digest, { cause: e });
}

/** `ref` picks an image of a layout; a reference names its image itself. */
const refWithReference = (target: string) => valueError('options.ref', `is for a layout or archive path; ${JSON.stringify(target).slice(0, 200)} is a reference, which names its image itself`, 'set');

import { algorithmOf, DIGEST_FORM, digestOf } from '../image/digest.js';
import { asDescriptor, asIndex, type Descriptor, type Platform } from '../image/descriptor.js';
import { ImageError } from '../image/errors.js';
import { selectManifest } from '../image/select-manifest.js';
import { DOCKER_LIST, DOCKER_MANIFEST, isIndex, isManifest, OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.js';
import type { RegistryClient } from './client.js';

/**
 * A manifest body is bounded at 4 MiB: the reference registry refuses to store a larger one
 * (distribution registry/handlers/manifests.go, maxManifestBodySize = 4 << 20) and
 * containers/image reads no more (internal/iolimits MaxManifestBodySize), so a longer body is
 * a broken or hostile server, not an image.
 */
export const MAX_MANIFEST_BYTES = 4 << 20;
/** An index may name an index (image-index.md); a chain deeper than this is refused. */
const MAX_INDEX_DEPTH = 4;

/** What a registry is asked to answer, best first (distribution-spec "Pulling manifests"). */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');

/** A manifest or index as fetched: its exact bytes, their descriptor (digest computed here), and the parsed JSON. */
export interface FetchedManifest {
  descriptor: Descriptor & { mediaType: string };
  bytes: Buffer;
  json: Record<string, unknown>;
}

/** An image manifest, with the blobs a pull needs: the config, then the layers. */
export interface ResolvedImage extends FetchedManifest {
  blobs: Array<Descriptor & { mediaType: string }>;
  /** The platform its index descriptor names, when it was chosen from an index. */
  platform?: Platform;
}


/**
 * GETs `/v2/<repo>/manifests/<tag or digest>` and checks it: at most MAX_MANIFEST_BYTES; its
 * sha256 (or the algorithm of the digest asked for) must equal `expected` when the reference or
 * a parent index names one, and `Docker-Content-Digest` when the server sends it; its media type
 * (the body's `mediaType`, else `Content-Type`) an OCI or Docker schema 2 manifest or index.
 */
export async function fetchManifest(client: RegistryClient, reference: string, expected?: { digest: string; size?: number; mediaType?: string }): Promise<FetchedManifest> {
  const ctx = { what: `manifest ${reference}`, ...(expected ? { digest: expected.digest } : {}), refuseRedirect: manifestRedirect(client.ref.repository, reference) };
  const res = await client.get(`/v2/${client.ref.repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT }, ctx);
  if (res.status !== 200) throw await client.statusError(res, ctx);
  // A descriptor's size bounds the body too: one byte more is an error at once.
  const max = expected?.size !== undefined ? Math.min(expected.size, MAX_MANIFEST_BYTES) : MAX_MANIFEST_BYTES;
  const bytes = await client.readAll(res, max, ctx);
  const announced = res.headers.get('docker-content-digest') ?? undefined;
  const digest = digestOf(bytes, expected ? algorithmOf(expected.digest) : 'sha256');
  if (expected && digest !== expected.digest) throw client.error('ERR_DIGEST', `the manifest's bytes hash to ${digest}, not to the digest asked for`, expected.digest);
  if (expected?.size !== undefined && bytes.length !== expected.size) throw client.error('ERR_SIZE', `the manifest is ${bytes.length} bytes, the index says ${expected.size}`, expected.digest);
  if (announced !== undefined) {
    if (!DIGEST_FORM.test(announced)) throw client.error('ERR_DIGEST', `Docker-Content-Digest ${JSON.stringify(announced.slice(0, 150))} is not a digest`, digest);
    const own = digestOf(bytes, algorithmOf(announced));
    if (own !== announced) throw client.error('ERR_DIGEST', `the manifest's bytes hash to ${own}, not to its Docker-Content-Digest ${announced}`, digest);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw client.error('ERR_MANIFEST', `the manifest is not JSON (${(e as Error).message})`, digest);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw client.error('ERR_MANIFEST', 'the manifest is not a JSON object', digest);
  const contentType = res.headers.get('content-type')?.split(';')[0]!.trim();
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const mediaType = declared ?? contentType ?? expected?.mediaType;
  if (declared && expected?.mediaType && declared !== expected.mediaType) throw client.error('ERR_MANIFEST', `the manifest says mediaType ${declared}, its descriptor ${expected.mediaType}`, digest);
  if (json.schemaVersion !== 2 || (!isIndex(mediaType) && !isManifest(mediaType))) {
    throw client.error('ERR_MANIFEST', `not an OCI or Docker schema 2 image manifest or index (schemaVersion ${String(json.schemaVersion)}, mediaType ${mediaType ?? 'none'})`, digest);
  }
  return { descriptor: { mediaType: mediaType!, digest, size: bytes.length }, bytes, json };
}

/**
 * A manifest is what the repository asked for answers: the distribution spec defines it as the
 * response to `GET /v2/<name>/manifests/<reference>` ("Pulling manifests") and allows a
 * redirect only for blobs ("Pulling blobs": a 307 to the blob's location), whose bytes the
 * digest verifies wherever they come from. A tag's manifest has no such check, so a redirect
 * to any other `/v2/` path (another repository's manifest, a blob, another reference), on the
 * registry or on any other origin (another name for the same server, another registry), would
 * make the tag name what another repository holds: it is refused. The same path on another
 * origin (a mirror) and a path outside `/v2/` (storage, a CDN) are followed, bounded, with the
 * credentials kept to their origin, as Go's net/http clients (containerd, containers/image)
 * follow them.
 */
export function manifestRedirect(repository: string, reference: string): (to: URL) => string | undefined {
  const own = `/v2/${repository}/manifests/${reference}`;
  return (to) => {
    // Compared decoded, as the registry routes it (Go's URL.Path: /%762/x/manifests/t is /v2/x/...).
    const path = decodedPath(to.pathname);
    return path === undefined || (path.startsWith('/v2/') && path !== own)
      ? `the manifest ${reference} of ${repository} was redirected to ${(path ?? to.pathname).slice(0, 200)} on ${to.origin}: a manifest must come from its own repository (distribution spec, "Pulling manifests")`
      : undefined;
  };
}

/** The path with its percent-escapes decoded, or undefined when one is malformed. */
function decodedPath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
}

/** A descriptor from a manifest, checked before its digest becomes part of a URL or a file name. */
function checkedDescriptor(client: RegistryClient, value: unknown, where: string): Descriptor & { mediaType: string } {
  let d: Descriptor;
  try {
    d = asDescriptor(value, where);
  } catch (e) {
    throw client.error('ERR_MANIFEST', (e as Error).message, undefined, e);
  }
  if (!DIGEST_FORM.test(d.digest)) throw client.error('ERR_MANIFEST', `${where}: invalid digest ${JSON.stringify(d.digest).slice(0, 150)}`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw client.error('ERR_MANIFEST', `${where}: invalid size ${d.size}`, d.digest);
  if (typeof d.mediaType !== 'string') throw client.error('ERR_MANIFEST', `${where}: the descriptor has no mediaType`, d.digest);
  return d as Descriptor & { mediaType: string };
}

/**
 * Resolves the client's reference to one image manifest: the tag or digest fetched and
 * checked, and an index narrowed to the platform asked for (image/select-manifest.ts, with
 * containerd's matching; the running platform by default), then that manifest by digest.
 */
export async function resolveImage(client: RegistryClient, platform?: string | Platform): Promise<ResolvedImage> {
  const ref = client.ref;
  let fetched = await fetchManifest(client, ref.digest ?? ref.tag!, ref.digest ? { digest: ref.digest } : undefined);
  let chosenPlatform: Platform | undefined;
  for (let depth = 0; isIndex(fetched.descriptor.mediaType); depth++) {
    if (depth >= MAX_INDEX_DEPTH) throw client.error('ERR_MANIFEST', `indexes nested more than ${MAX_INDEX_DEPTH} deep`, fetched.descriptor.digest);
    const where = `index ${fetched.descriptor.digest}`;
    let chosen: Descriptor;
    try {
      chosen = selectManifest(asIndex(fetched.json, where), platform === undefined ? {} : { platform }, where);
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      const code = /no manifest for platform|choose one/.test(e.message) ? 'ERR_PLATFORM' : 'ERR_MANIFEST';
      throw client.error(code, e.message, fetched.descriptor.digest, e);
    }
    const d = checkedDescriptor(client, chosen, where);
    // Only the fields platform matching reads, as strings (the store keeps it in index.json).
    const p = d.platform as { os?: unknown; architecture?: unknown; variant?: unknown } | undefined;
    if (p && typeof p.os === 'string' && typeof p.architecture === 'string') chosenPlatform = { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) };
    fetched = await fetchManifest(client, d.digest, d);
  }
  const json = fetched.json;
  const where = `manifest ${fetched.descriptor.digest}`;
  if (!Array.isArray(json.layers)) throw client.error('ERR_MANIFEST', 'the manifest has no layers list', fetched.descriptor.digest);
  const blobs = [checkedDescriptor(client, json.config, `${where} config`), ...json.layers.map((l, i) => checkedDescriptor(client, l, `${where} layer ${i}`))];
  return { ...fetched, blobs, ...(chosenPlatform ? { platform: chosenPlatform } : {}) };
}

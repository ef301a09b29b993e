import { algorithmOf, DIGEST_FORM, digestOf } from '../image/digest.js';
import type { Descriptor } from '../image/descriptor.js';
import { isIndex, isManifest } from '../oci/media-types.js';
import type { ContentStore } from '../store/content-store.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { wholeNumber, type RegistryOptions } from './options.js';
import { bounded, DEFAULT_CONCURRENCY, type BlobDescriptor } from './pull.js';
import { pushSource, type PushSource } from './push-source.js';
import { apiHost, formatReference, parseReference, type Reference } from './reference.js';
import { manifestPresent, pushBlob, putManifest, type BlobOutcome, type UploadPlan } from './upload.js';

export interface PushOptions extends RegistryOptions {
  /** Which image of the source: its `org.opencontainers.image.ref.name` (a store's tag); the only one when omitted. */
  ref?: string;
  /**
   * A repository of the same registry to mount blobs from (`POST ...?mount=&from=`). By
   * default the source ref's repository, when that ref is a reference to this same registry
   * (an image pulled from there), else none.
   */
  from?: string;
  /** Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size. Default 64 MiB. */
  chunkSize?: number;
  /** How many blobs are pushed at once; 3, as pull. */
  concurrency?: number;
}

export interface PushResult {
  /** The canonical reference pushed to (`host/repo:tag` or `host/repo@digest`). */
  reference: string;
  /** The manifest (or index) put last, under the tag. */
  manifest: BlobDescriptor;
  /** Blobs (configs, layers, an index's manifests) uploaded, mounted from `from`, and already in the repository. */
  pushed: Descriptor[];
  mounted: Descriptor[];
  present: Descriptor[];
  /** The repository blobs were mounted from, if any was tried. */
  from?: string;
  /** Bytes sent in request bodies: the blobs uploaded and every manifest put. */
  bytes: number;
}

/** A chunk of 64 MiB keeps each request under the 100 MB body limit common in front of registries (a CDN, an nginx client_max_body_size). */
const DEFAULT_CHUNK_SIZE = 64 << 20;
const MAX_INDEX_DEPTH = 4;

interface PlannedManifest {
  descriptor: BlobDescriptor;
  bytes: Buffer;
}

/** What a push sends: its blobs (deduplicated), the child manifests by digest (deepest first), the top one. */
interface Plan {
  blobs: BlobDescriptor[];
  children: PlannedManifest[];
  /** Child manifests the source lacks (one platform pulled of an index): the repository must have them. */
  absent: BlobDescriptor[];
  top: PlannedManifest;
}

/** A descriptor of a manifest, checked before its digest names a URL. */
function descriptorOf(target: Reference, value: unknown, where: string): BlobDescriptor {
  const d = value as Partial<Descriptor> | null;
  const bad = (why: string) => new RegistryError('ERR_MANIFEST', target.given, `${where}: ${why}`, typeof d?.digest === 'string' && DIGEST_FORM.test(d.digest) ? d.digest : undefined);
  if (!d || typeof d !== 'object') throw bad('a descriptor that is not an object');
  if (typeof d.digest !== 'string' || !DIGEST_FORM.test(d.digest)) throw bad(`invalid digest ${JSON.stringify(d.digest)?.slice(0, 150)}`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw bad(`invalid size ${String(d.size)}`);
  if (typeof d.mediaType !== 'string') throw bad('the descriptor has no mediaType');
  return { digest: d.digest, size: d.size, mediaType: d.mediaType };
}

/** Reads the image from the source: every manifest whole and checked, every blob it names. */
async function planPush(target: Reference, source: PushSource, top: BlobDescriptor): Promise<Plan> {
  const blobs = new Map<string, BlobDescriptor>();
  const children: PlannedManifest[] = [];
  const absent: BlobDescriptor[] = [];
  const seen = new Set<string>();
  const visit = async (desc: BlobDescriptor, depth: number): Promise<PlannedManifest | undefined> => {
    const bytes = await source.readManifest(desc.digest);
    if (!bytes) {
      if (depth === 0) throw new RegistryError('ERR_SOURCE', target.given, `the source ${source.label} lacks the manifest its ref names`, desc.digest);
      absent.push(desc);
      return undefined;
    }
    if (bytes.length !== desc.size) throw new RegistryError('ERR_SIZE', target.given, `the source's manifest has ${bytes.length} bytes, its descriptor says ${desc.size}`, desc.digest);
    let json: { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryError('ERR_MANIFEST', target.given, 'the source\'s manifest is not JSON', desc.digest);
    }
    const mediaType = typeof json?.mediaType === 'string' ? json.mediaType : desc.mediaType;
    if (json?.mediaType !== undefined && json.mediaType !== desc.mediaType) throw new RegistryError('ERR_MANIFEST', target.given, `the source's manifest says mediaType ${String(json.mediaType)}, its descriptor ${desc.mediaType}`, desc.digest);
    if (json.schemaVersion !== 2 || (!isIndex(mediaType) && !isManifest(mediaType))) throw new RegistryError('ERR_MANIFEST', target.given, `not an OCI or Docker schema 2 image manifest or index (mediaType ${mediaType})`, desc.digest);
    const where = `manifest ${desc.digest}`;
    if (isIndex(mediaType)) {
      if (depth >= MAX_INDEX_DEPTH) throw new RegistryError('ERR_MANIFEST', target.given, `indexes nested more than ${MAX_INDEX_DEPTH} deep`, desc.digest);
      if (!Array.isArray(json.manifests)) throw new RegistryError('ERR_MANIFEST', target.given, 'the index has no manifests list', desc.digest);
      for (const [i, m] of json.manifests.entries()) {
        const child = descriptorOf(target, m, `${where} manifest ${i}`);
        if (seen.has(child.digest)) continue;
        seen.add(child.digest);
        const planned = await visit(child, depth + 1);
        if (planned) children.push(planned);
      }
    } else {
      if (!Array.isArray(json.layers)) throw new RegistryError('ERR_MANIFEST', target.given, 'the manifest has no layers list', desc.digest);
      for (const b of [descriptorOf(target, json.config, `${where} config`), ...json.layers.map((l, i) => descriptorOf(target, l, `${where} layer ${i}`))]) {
        if (!blobs.has(b.digest)) blobs.set(b.digest, b);
      }
    }
    return { descriptor: { ...desc, mediaType }, bytes };
  };
  const planned = (await visit(top, 0))!;
  return { blobs: [...blobs.values()], children, absent, top: planned };
}

/** The repository to mount from: `from` as given (checked), else the source ref's when it names this registry. */
function mountFrom(target: Reference, given: unknown, sourceRef: string | undefined): string | undefined {
  if (given !== undefined) {
    if (typeof given !== 'string' || /[:@]/.test(given)) throw new TypeError('The "from" option must be a repository name of the same registry (team/app), without a tag or digest');
    const repo = parseReference(`${target.domain}/${given}`).repository;
    return repo === target.repository ? undefined : repo;
  }
  if (sourceRef === undefined) return undefined;
  let origin: Reference;
  try {
    origin = parseReference(sourceRef);
  } catch {
    return undefined; // a plain tag (latest), not a reference: no registry to mount from
  }
  return apiHost(origin) === apiHost(target) && origin.repository !== target.repository ? origin.repository : undefined;
}

/**
 * Pushes an image from `source` (a ContentStore, or the path of an OCI image layout) to
 * `reference` (`host[:port]/repo[:tag][@digest]`): every blob the repository lacks (HEAD
 * first), mounted from another repository of the same registry when it can be, else uploaded
 * (one PUT, or PATCH chunks above `chunkSize`), at most `concurrency` at once, each checked
 * against its digest and size as it is read from the source; then an index's manifests by
 * digest, and the manifest (or index) last, by the tag.
 */
export async function push(source: ContentStore | string, reference: string, options: PushOptions = {}): Promise<PushResult> {
  const target = parseReference(reference);
  const chunkSize = wholeNumber(options.chunkSize ?? DEFAULT_CHUNK_SIZE, 'chunkSize', 1);
  const limit = wholeNumber(options.concurrency ?? DEFAULT_CONCURRENCY, 'concurrency', 1);
  if (options.ref !== undefined && typeof options.ref !== 'string') throw new TypeError('The "ref" option must be a string');
  const src = pushSource(source, target.given);
  const client = new RegistryClient(target, options);
  const { ref: sourceRef, descriptor } = await src.resolve(options.ref);
  const plan = await planPush(target, src, descriptorOf(target, descriptor, `the source's ref ${sourceRef ?? ''}`.trim()));
  const top = plan.top.descriptor;
  // A digest reference must be the image's digest, checked before anything is sent.
  if (target.digest !== undefined && target.digest !== digestOf(plan.top.bytes, algorithmOf(target.digest))) {
    throw new RegistryError('ERR_DIGEST', target.given, `the image's manifest is ${top.digest}, not the digest of the reference`, target.digest);
  }
  const from = mountFrom(target, options.from, sourceRef);
  const scopes = [`repository:${target.repository}:pull,push`];
  const upload: UploadPlan = { scopes, chunkSize, ...(from !== undefined ? { from } : {}) };
  const sent = { bytes: 0 };
  // An index's platforms the source lacks must be in the repository already: refused before any upload.
  for (const m of plan.absent) {
    if (!(await manifestPresent(client, m, scopes))) throw new RegistryError('ERR_SOURCE', target.given, `the index names manifest ${m.digest}, which neither the source ${src.label} nor the repository holds (an index pulled for one platform cannot be pushed whole)`, m.digest);
  }
  const outcomes = new Map<string, BlobOutcome>();
  await bounded(plan.blobs, limit, async (blob) => {
    outcomes.set(blob.digest, await pushBlob(client, blob, () => src.open(blob.digest, blob.size), upload, sent));
  });
  const byOutcome = (o: BlobOutcome) => plan.blobs.filter((b) => outcomes.get(b.digest) === o);
  const result: PushResult = { reference: formatReference(target), manifest: top, pushed: byOutcome('pushed'), mounted: byOutcome('mounted'), present: [...byOutcome('present'), ...plan.absent], ...(from !== undefined ? { from } : {}), bytes: 0 };
  // Child manifests by digest, deepest first (a registry checks an index's manifests exist), then the top one by its tag.
  for (const child of plan.children) {
    if (await manifestPresent(client, child.descriptor, scopes)) result.present.push(child.descriptor);
    else {
      await putManifest(client, child.descriptor.digest, child.descriptor, child.bytes, scopes, sent);
      result.pushed.push(child.descriptor);
    }
  }
  await putManifest(client, target.tag ?? target.digest!, top, plan.top.bytes, scopes, sent);
  result.bytes = sent.bytes;
  return result;
}

// Over 300 lines: OCI layout, docker archive and platform choice in one module; phase 2
// splits them along those seams (issue 14 item 4, docs/architecture.md).
import { constants as bufferConstants } from 'node:buffer';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { arch } from 'node:process';
import { Readable } from 'node:stream';
import type { Volume } from 'memfs';
import type { OverlayOptions } from '../fs/overlay-fs.js';
import { Overlay } from '../export/overlay.js';
import { TarLayer, type TarLayerOptions } from '../layer/tar/tar-layer.js';
import { LayerError } from '../layer/layer-builder.js';
import { LowerIndex } from '../overlay/lower-index.js';
import { ArchiveSource, DirectorySource, INCOMPLETE, type FileSource } from './blob-source.js';
import { parseDigest, verifyBlob } from './digest.js';
import { ImageError } from './errors.js';
import { checkOpenImageOptions } from './image-options.js';
import { pickPlatform } from './platform-match.js';
import { addDispose } from '../util/disposable.js';
import { isImageConfig, isIndex, isManifest, layerType, type LayerType } from '../oci/media-types.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  /** Where a non-distributable layer may be fetched from (descriptor.md). */
  urls?: string[];
}

/** The parts of an image config (config.md) tools ask for. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string; Labels?: Record<string, string> };
  rootfs: { type: string; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string }>;
}

export interface ImageLayer {
  /** Digest of the blob as stored (compressed); for docker save, of the layer tar. */
  digest: string;
  /** Digest of the uncompressed tar (config rootfs.diff_ids). */
  diffId: string;
  size: number;
  mediaType: string;
  layer: TarLayer;
  /**
   * Set when the blob is an uncompressed tar under a compressed media type (`…tar+gzip`,
   * `…tar+zstd`, Docker `…tar.gzip`): read as the tar it is (the digest matched, and a plain
   * tar has one reading), as dockerd and containerd read such layers. Other mismatches are
   * refused.
   */
  mediaTypeMismatch?: { says: 'gzip' | 'zstd'; blob: 'none' };
}

export interface OpenImageOptions extends TarLayerOptions {
  /** Which platform to pick from an index; the running one (linux/<arch>) by default. */
  platform?: string | Platform;
  /** A tag (`org.opencontainers.image.ref.name`, or a docker RepoTag) when the image holds several. */
  ref?: string;
}

/** An image opened and verified: its manifest, config and layers, bottom to top. */
export class Image {
  constructor(
    readonly source: string,
    readonly format: 'oci-layout' | 'oci-archive' | 'docker-archive',
    readonly manifest: unknown,
    readonly config: ImageConfig,
    readonly layers: ImageLayer[],
    private readonly files: FileSource,
    private readonly blobPaths: string[],
    /** The digest of the manifest blob (an OCI layout or archive); undefined for a docker save archive, which has no manifest blob. */
    readonly manifestDigest?: string,
  ) {}

  /** The `created_by` of layer `i`'s history entry (history also lists steps that made no layer). */
  createdBy(i: number): string | undefined {
    return this.config.history?.filter((h) => !h.empty_layer)[i]?.created_by;
  }

  /**
   * The stored bytes of layer `i`, as verified when the image was opened: read through the
   * descriptor the layer holds, so a blob replaced since (renamed over, deleted) still gives
   * the verified bytes, and one changed in place gives a LayerContentError
   * (`ERR_LAYER_CHANGED`), never other bytes. From an archive, the copy read at open.
   */
  async layerBlob(i: number): Promise<Buffer> {
    const layer = this.layers[i]!;
    const stream = layer.layer.sourceStream();
    if (!stream) return this.files.read(this.blobPaths[i]!);
    if (layer.layer.info.compressedSize > bufferConstants.MAX_LENGTH) {
      stream.destroy();
      throw new ImageError(`${this.source}: layer ${layer.digest}`, `${layer.layer.info.compressedSize} bytes: larger than a Buffer can hold (use layerBlobStream)`);
    }
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** The stored bytes of layer `i` as a stream (blobs may be larger than a Buffer can hold), as layerBlob checks them. */
  async layerBlobStream(i: number): Promise<Readable> {
    return this.layers[i]!.layer.sourceStream() ?? Readable.from([await this.files.read(this.blobPaths[i]!)]);
  }

  /**
   * Closes the files the layers hold (each layer's blob and spill file); reads through the
   * image's layers then fail (ERR_LAYER_CLOSED, EIO through an overlay). Optional: files of
   * an image that is never closed are closed when its layers are collected.
   */
  close(): void {
    for (const l of this.layers) l.layer.close();
  }

  /** An overlay over the image's layers with a fresh (or the given) upper layer. */
  overlay(options: Omit<OverlayOptions, 'lower'> & { upper?: Volume } = {}): Overlay {
    return new Overlay({ ...options, lower: this.layers.map((l) => l.layer) });
  }
}

addDispose(Image.prototype);
export interface Image {
  /** image.close(), for `using` (where the runtime has Symbol.dispose: Node 20.4 and later). */
  [Symbol.dispose](): void;
}

/**
 * Opens an OCI image layout directory, an OCI archive (a tar of one), or a `docker save`
 * archive (classic manifest.json, or the newer one with an embedded OCI layout, which is
 * read as OCI). Every blob is verified against its digest before it is trusted, every layer
 * against its diff_id, sizes against descriptors.
 */
export async function openImage(path: string, given: OpenImageOptions = {}): Promise<Image> {
  const options = checkOpenImageOptions(given);
  const st = await stat(path).catch(() => {
    throw new ImageError(path, 'no such file or directory');
  });
  const source: FileSource = st.isDirectory() ? new DirectorySource(path) : await ArchiveSource.open(path);
  if ((await source.has('oci-layout')) && (await source.has('index.json'))) {
    return openOci(source, st.isDirectory() ? 'oci-layout' : 'oci-archive', options);
  }
  if (await source.has('manifest.json')) return openDockerArchive(source, options);
  throw new ImageError(path, 'neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)');
}

async function readJson(source: FileSource, path: string): Promise<unknown> {
  return parseJson(await source.read(path), `${source.label}: ${path}`);
}

function blobPath(digest: string, where: string): string {
  const d = parseDigest(digest, where);
  return `blobs/${d.algorithm}/${d.hex}`;
}

async function readBlob(source: FileSource, desc: Descriptor, what: string): Promise<Buffer> {
  const where = `${source.label}: ${what} ${desc.digest}`;
  const data = await source.read(blobPath(desc.digest, where));
  verifyBlob(data, desc.digest, desc.size, where);
  return data;
}

function parseJson(data: Buffer, where: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw new ImageError(where, 'not valid JSON');
  }
}

function hostPlatform(): Platform {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: map[arch] ?? arch };
}

/** The platform asked for (its form checked with the options), or the running one. */
function parsePlatform(p: string | Platform | undefined): Platform {
  if (p === undefined) return hostPlatform();
  if (typeof p !== 'string') return p;
  const [os, architecture, variant] = p.split('/') as [string, string, string?];
  return { os, architecture, ...(variant ? { variant } : {}) };
}

const platformName = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** Picks one manifest from an index by ref and platform (image-index.md). */
async function selectManifest(index: { manifests?: Descriptor[] }, options: OpenImageOptions, where: string): Promise<Descriptor> {
  let candidates = index.manifests ?? [];
  if (candidates.length === 0) throw new ImageError(where, 'the index lists no manifests');
  if (options.ref !== undefined) {
    candidates = candidates.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] === options.ref);
    if (candidates.length === 0) {
      const refs = (index.manifests ?? []).map((d) => d.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
      throw new ImageError(where, `no manifest has ref ${options.ref}; refs: ${refs.join(', ') || '(none)'}`);
    }
  }
  const withPlatform = candidates.filter((d) => d.platform);
  if (withPlatform.length === 0 && candidates.length === 1) return candidates[0]!;
  const want = parsePlatform(options.platform);
  const match = pickPlatform(candidates.map((d) => d.platform), want);
  if (match >= 0) return candidates[match]!;
  if (withPlatform.length === 0 && candidates.length > 1) throw new ImageError(where, `the index holds ${candidates.length} manifests; choose one with ref`);
  const available = candidates.map((d) => (d.platform ? platformName(d.platform) : '(no platform)'));
  throw new ImageError(where, `no manifest for platform ${platformName(want)}; available: ${available.join(', ')}`);
}

/** Checks a parsed index's shape before it is used: an object with a list of descriptors. */
function asIndex(value: unknown, where: string): { manifests: Descriptor[] } {
  const v = value as { manifests?: unknown } | null;
  if (!v || typeof v !== 'object' || !Array.isArray(v.manifests)) throw new ImageError(where, 'not an image index (no manifests list)');
  for (const d of v.manifests) asDescriptor(d, where);
  return v as { manifests: Descriptor[] };
}

function asDescriptor(value: unknown, where: string): Descriptor {
  const d = value as Descriptor | null;
  if (!d || typeof d !== 'object' || typeof d.digest !== 'string' || typeof d.size !== 'number') throw new ImageError(where, 'a descriptor lacks a digest or size');
  return d;
}

/** The image layout versions layerfs reads (image-layout.md "oci-layout file": 1.0.0 is the only one). */
const LAYOUT_VERSIONS = new Set(['1.0.0']);

async function checkLayoutVersion(source: FileSource): Promise<void> {
  const where = `${source.label}: oci-layout`;
  const layout = (await readJson(source, 'oci-layout')) as { imageLayoutVersion?: unknown } | null;
  const version = layout && typeof layout === 'object' ? layout.imageLayoutVersion : undefined;
  if (typeof version !== 'string' || !LAYOUT_VERSIONS.has(version)) {
    throw new ImageError(where, `unsupported imageLayoutVersion ${JSON.stringify(version) ?? '(none)'}: layerfs reads ${[...LAYOUT_VERSIONS].join(', ')}`);
  }
}

/**
 * Checks that a manifest or index blob is what its descriptor says (image-manifest.md,
 * image-index.md: the document's own `mediaType`, when present, MUST be its type; a manifest
 * has `config` and `layers`, an index `manifests`): an index read as a manifest, or the
 * reverse, is refused instead of being read as whichever shape happens to parse.
 */
function checkDocument(value: unknown, desc: Descriptor, kind: 'manifest' | 'index', where: string): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ImageError(where, `not a JSON object (expected an image ${kind})`);
  const doc = value as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
  if (doc.schemaVersion !== 2) throw new ImageError(where, `schemaVersion ${JSON.stringify(doc.schemaVersion) ?? '(none)'}: an image ${kind} has schemaVersion 2 (Docker schema 1 is not read)`);
  const own = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (own !== undefined && desc.mediaType !== undefined && own !== desc.mediaType) {
    throw new ImageError(where, `the descriptor says ${desc.mediaType}, the blob's own mediaType is ${own}`);
  }
  const ownKind = own === undefined ? undefined : isIndex(own) ? 'index' : isManifest(own) ? 'manifest' : 'other';
  const shape = Array.isArray(doc.manifests) && doc.config === undefined ? 'index' : doc.config !== undefined && doc.manifests === undefined ? 'manifest' : undefined;
  const is = ownKind ?? shape;
  if (is !== kind) throw new ImageError(where, `referenced as an image ${kind}, but the blob is ${is === undefined || is === 'other' ? `not an image ${kind}${own ? ` (mediaType ${own})` : ''}` : `an image ${is}`}`);
}

/** The descriptor's type must name a manifest or an index, or be absent (then the blob's own type and shape decide). */
function checkManifestDescriptor(desc: Descriptor, where: string): void {
  if (desc.mediaType !== undefined && !isIndex(desc.mediaType) && !isManifest(desc.mediaType)) {
    throw new ImageError(`${where} ${desc.digest}`, `not an image manifest or index (mediaType ${desc.mediaType})`);
  }
}

async function openOci(source: FileSource, format: 'oci-layout' | 'oci-archive', options: OpenImageOptions): Promise<Image> {
  await checkLayoutVersion(source);
  let index = asIndex(await readJson(source, 'index.json'), `${source.label}: index.json`);
  let desc = await selectManifest(index, options, `${source.label}: index.json`);
  checkManifestDescriptor(desc, `${source.label}: index.json: manifest`);
  // An index may point at another index (a multi-platform image inside a layout).
  for (let depth = 0; isIndex(desc.mediaType); depth++) {
    if (depth > 8) throw new ImageError(source.label, 'indexes nested too deep');
    const where = `${source.label}: index ${desc.digest}`;
    const value = parseJson(await readBlob(source, desc, 'index'), where);
    checkDocument(value, desc, 'index', where);
    index = asIndex(value, where);
    desc = await selectManifest(index, { ...options, ref: undefined }, where);
    checkManifestDescriptor(desc, `${where}: manifest`);
  }
  const manifestWhere = `${source.label}: manifest ${desc.digest}`;
  const manifest = parseJson(await readBlob(source, desc, 'manifest'), manifestWhere) as { config?: Descriptor; layers?: Descriptor[] };
  checkDocument(manifest, desc, 'manifest', manifestWhere);
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new ImageError(manifestWhere, 'no config or layers');
  asDescriptor(manifest.config, manifestWhere);
  // An artifact (a Helm chart, a signature) has a manifest too: its config type says it is not an image.
  if (!isImageConfig(manifest.config.mediaType)) throw new ImageError(`${source.label}: config ${manifest.config.digest}`, `not an image config (mediaType ${manifest.config.mediaType ?? '(none)'}): the manifest is not an image's`);
  // Every layer's type is checked before any layer is read.
  const types = manifest.layers.map((l): LayerType => {
    asDescriptor(l, manifestWhere);
    const t = layerType(l.mediaType);
    if ('refused' in t) throw new ImageError(`${source.label}: layer ${l.digest}`, t.refused);
    return t;
  });
  const config = parseJson(await readBlob(source, manifest.config, 'config'), `${source.label}: config ${manifest.config.digest}`) as ImageConfig;
  const diffIds = checkDiffIds(config, manifest.layers.length, `${source.label}: config ${manifest.config.digest}`);
  const layers = await mapInOrder(manifest.layers, async (d, i): Promise<ImageLayer> => {
    const where = `${source.label}: layer ${d.digest}`;
    const path = blobPath(d.digest, where);
    const type = types[i]!;
    if (type.foreign && !(await source.has(path))) throw foreignLayerMissing(d, where);
    const layer = await readLayer(source, path, d.digest, where, options);
    return closedOnFailure(layer, () => {
      if (layer.info.digest !== d.digest) throw new ImageError(where, `digest mismatch: got ${layer.info.digest}`);
      if (layer.info.compressedSize !== d.size) throw new ImageError(where, `size mismatch: descriptor says ${d.size}, blob has ${layer.info.compressedSize} bytes`);
      // The bytes are authentic (the digest matched), so the manifest is inconsistent. A plain tar
      // under a compressed type (podman#2013: `podman push` wrote such images) has one
      // reading, and dockerd and containerd apply it (they sniff the magic bytes): read, and
      // recorded. Any other mismatch is refused: the blob could be read as the type says or as
      // its bytes say, and tools disagree (umoci trusts the type and fails).
      const mismatch = layer.info.compression !== type.compression;
      if (mismatch && (layer.info.compression !== 'none' || type.compression === 'none')) {
        throw new ImageError(where, `mediaType ${d.mediaType} says ${type.compression === 'none' ? 'uncompressed' : type.compression}, the blob is ${layer.info.compression === 'none' ? 'not compressed' : layer.info.compression}`);
      }
      if (layer.info.diffId !== diffIds[i]) throw new ImageError(where, `diff_id mismatch: config says ${diffIds[i]}, uncompressed layer is ${layer.info.diffId}`);
      const said = type.compression as 'gzip' | 'zstd';
      return { digest: d.digest, diffId: layer.info.diffId, size: d.size, mediaType: d.mediaType ?? '', layer, ...(mismatch ? { mediaTypeMismatch: { says: said, blob: 'none' as const } } : {}) };
    });
  });
  checkStack(layers, source.label);
  return new Image(source.label, format, manifest, config, layers, source, manifest.layers.map((d) => blobPath(d.digest, source.label)), desc.digest);
}

/**
 * Opens an image's layers as many at a time as the machine has cores: a gzip layer inflates on
 * the thread pool while this thread parses and hashes it, so one layer at a time left a core
 * idle. Results keep manifest order, and a failure is reported as the first failing layer in
 * that order (every earlier layer was started, so all of them settle); no new layer is
 * started once one has failed, and the layers that did open are closed.
 */
async function mapInOrder<T, R extends { layer: TarLayer }>(items: readonly T[], open: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: Array<{ ok: true; value: R } | { ok: false; error: unknown }> = [];
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await open(items[i]!, i) };
      } catch (error) {
        results[i] = { ok: false, error };
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), items.length) }, lane));
  if (failed) for (const r of results) if (r?.ok) r.value.layer.close();
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return r.value;
  });
}

/**
 * `check()`'s result for a layer just opened, or the layer closed before its error goes on: a
 * layer refused after it was read (digest, size, diff_id) must not keep its blob and spill
 * file open until it is collected (a bomb's spill file can hold gigabytes of disk).
 */
function closedOnFailure<R>(layer: TarLayer, check: () => R): R {
  try {
    return check();
  } catch (e) {
    layer.close();
    throw e;
  }
}

/** Reads a layer blob; a blob that does not parse is reported as the image's error, naming the blob. */
async function readLayer(source: FileSource, path: string, name: string, where: string, options: OpenImageOptions): Promise<TarLayer> {
  try {
    // From a directory, a layer is read by path, so an uncompressed one is indexed in place.
    const input = source instanceof DirectorySource ? source.at(path) : await source.read(path);
    return await TarLayer.from(input, { ...options, name });
  } catch (e) {
    // `where` names the layer already: the error's entry and reason say the rest.
    if (e instanceof LayerError) throw new ImageError(where, `corrupt layer (${e.entry}: ${e.reason})`, { cause: e });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError(where, INCOMPLETE, { cause: e });
    throw e;
  }
}

/**
 * A non-distributable ("foreign") layer whose blob is not in the layout (layer.md
 * "Non-distributable layers": the descriptor's `urls` say where it may be fetched from).
 * layerfs reads what is stored and fetches nothing.
 */
function foreignLayerMissing(d: Descriptor, where: string): ImageError {
  const urls = Array.isArray(d.urls) ? d.urls.filter((u): u is string => typeof u === 'string') : [];
  return new ImageError(where, `a non-distributable layer (${d.mediaType}) whose blob is not in the image; ${urls.length > 0 ? `its descriptor names ${urls.join(', ')}` : 'its descriptor names no URLs'}: fetch it into the layout first (layerfs downloads nothing)`);
}

/**
 * A layer's hard links to files of the layers below resolve only on the stack (lower-index.ts):
 * stacked once here when a layer has any, so that an image whose link names nothing fails
 * to open, naming the layer, instead of failing at its first overlay (its layers closed).
 */
function checkStack(layers: ImageLayer[], label: string): void {
  if (!layers.some((l) => (l.layer.lowerLinks?.size ?? 0) > 0)) return;
  try {
    new LowerIndex(layers.map((l) => l.layer));
  } catch (e) {
    for (const l of layers) l.layer.close();
    if (e instanceof LayerError) throw new ImageError(`${label}: layer ${e.layer}`, `corrupt layer (${e.entry}: ${e.reason})`, { cause: e });
    throw e;
  }
}

function checkDiffIds(config: ImageConfig, count: number, where: string): string[] {
  if (!config || typeof config !== 'object') throw new ImageError(where, 'the config is not a JSON object');
  // config.md: rootfs.type "MUST be set to layers".
  if (config.rootfs?.type !== 'layers') throw new ImageError(where, `rootfs.type is ${JSON.stringify(config.rootfs?.type) ?? '(none)'}, not "layers"`);
  const ids = config.rootfs?.diff_ids;
  if (!Array.isArray(ids) || ids.length !== count) throw new ImageError(where, `rootfs.diff_ids lists ${Array.isArray(ids) ? ids.length : 'no'} layers, the manifest ${count}`);
  for (const id of ids) parseDigest(id, where);
  return ids;
}

/** `docker save`'s classic format: manifest.json names the config and each layer tar by path. */
async function openDockerArchive(source: FileSource, options: OpenImageOptions): Promise<Image> {
  const entries = (await readJson(source, 'manifest.json')) as Array<{ Config: string; RepoTags?: string[] | null; Layers: string[] }>;
  if (!Array.isArray(entries) || entries.length === 0) throw new ImageError(`${source.label}: manifest.json`, 'lists no images');
  for (const e of entries) {
    if (!e || typeof e.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw new ImageError(`${source.label}: manifest.json`, 'an entry lacks Config or Layers');
    }
  }
  let entry = entries[0]!;
  if (options.ref !== undefined) {
    const found = entries.find((e) => e.RepoTags?.includes(options.ref!));
    if (!found) throw new ImageError(`${source.label}: manifest.json`, `no image tagged ${options.ref}; tags: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || '(none)'}`);
    entry = found;
  } else if (entries.length > 1) {
    throw new ImageError(`${source.label}: manifest.json`, `holds ${entries.length} images; choose one with ref`);
  }
  const configData = await source.read(entry.Config);
  // The config's file name is its digest (<hex>.json or blobs/sha256/<hex>).
  const hex = /([a-f0-9]{64})(\.json)?$/.exec(entry.Config)?.[1];
  if (hex) verifyBlob(configData, `sha256:${hex}`, undefined, `${source.label}: ${entry.Config}`);
  const config = parseJson(configData, `${source.label}: ${entry.Config}`) as ImageConfig;
  const diffIds = checkDiffIds(config, entry.Layers.length, `${source.label}: ${entry.Config}`);
  const layers = await mapInOrder(entry.Layers, async (path, i): Promise<ImageLayer> => {
    const where = `${source.label}: ${path}`;
    const layer = await readLayer(source, path, path, where, options);
    return closedOnFailure(layer, () => {
      if (layer.info.diffId !== diffIds[i]) throw new ImageError(where, `diff_id mismatch: config says ${diffIds[i]}, layer is ${layer.info.diffId}`);
      return { digest: layer.info.digest, diffId: layer.info.diffId, size: layer.info.compressedSize, mediaType: 'application/vnd.oci.image.layer.v1.tar', layer };
    });
  });
  checkStack(layers, source.label);
  return new Image(source.label, 'docker-archive', entry, config, layers, source, entry.Layers);
}

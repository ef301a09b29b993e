import { isImageConfig, isIndex, isManifest, layerType, type LayerType } from '../oci/media-types.js';
import { DirectorySource, INCOMPLETE, type FileSource } from './blob-source.js';
import { asDescriptor, asIndex, type Descriptor } from './descriptor.js';
import { checkDiffIds } from './diff-ids.js';
import { parseDigest, verifyBlob } from './digest.js';
import { ImageError } from './errors.js';
import type { ImageConfig, LayerDescriptor } from './image-parts.js';
import type { OpenImageOptions } from './image-options.js';
import { parseJson, readJson } from './json.js';
import { selectManifest } from './select-manifest.js';

// Reading an OCI image layout's (image-layout.md) documents, a directory or a tar of one:
// oci-layout, index.json, the manifest its platform and ref choose and the config, every blob
// verified against its descriptor; the layers as they describe them (read-oci-image.ts reads
// them). No layer code is imported here: `inspect` loads only this.

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

export function blobPath(digest: string, where: string): string {
  const d = parseDigest(digest, where);
  return `blobs/${d.algorithm}/${d.hex}`;
}

async function readBlob(source: FileSource, desc: Descriptor, what: string): Promise<Buffer> {
  const where = `${source.label}: ${what} ${desc.digest}`;
  const data = await source.read(blobPath(desc.digest, where));
  verifyBlob(data, desc.digest, desc.size, where);
  return data;
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

/**
 * A non-distributable ("foreign") layer whose blob is not in the layout (layer.md
 * "Non-distributable layers": the descriptor's `urls` say where it may be fetched from).
 * layerfs reads what is stored and fetches nothing.
 */
export function foreignLayerMissing(d: Descriptor, where: string): ImageError {
  const urls = Array.isArray(d.urls) ? d.urls.filter((u): u is string => typeof u === 'string') : [];
  return new ImageError(where, `a non-distributable layer (${d.mediaType}) whose blob is not in the image; ${urls.length > 0 ? `its descriptor names ${urls.join(', ')}` : 'its descriptor names no URLs'}: fetch it into the layout first (layerfs downloads nothing)`);
}

/** The manifest the layout's index.json (and any index it points at) chooses by ref and platform. */
async function chooseManifest(source: FileSource, options: OpenImageOptions): Promise<Descriptor> {
  let index = asIndex(await readJson(source, 'index.json'), `${source.label}: index.json`);
  let desc = selectManifest(index, options, `${source.label}: index.json`, true);
  checkManifestDescriptor(desc, `${source.label}: index.json: manifest`);
  // An index may point at another index (a multi-platform image inside a layout).
  for (let depth = 0; isIndex(desc.mediaType); depth++) {
    if (depth > 8) throw new ImageError(source.label, 'indexes nested too deep');
    const where = `${source.label}: index ${desc.digest}`;
    const value = parseJson(await readBlob(source, desc, 'index'), where);
    checkDocument(value, desc, 'index', where);
    index = asIndex(value, where);
    desc = selectManifest(index, { ...options, ref: undefined }, where);
    checkManifestDescriptor(desc, `${where}: manifest`);
  }
  return desc;
}

/** An OCI image's manifest and config, verified, and what its layers must be: no layer blob is read yet. */
export interface OciManifestParts {
  /** The manifest's descriptor (in index.json or an index). */
  desc: Descriptor;
  manifest: { config: Descriptor; layers: Descriptor[] };
  config: ImageConfig;
  /** The config's rootfs.diff_ids, one per layer. */
  diffIds: string[];
  /** Each layer's type, checked to be one layerfs reads (layerType). */
  types: LayerType[];
}

/** Reads and verifies an OCI layout's manifest (chosen by ref and platform) and its config. */
export async function readOciManifest(source: FileSource, options: OpenImageOptions): Promise<OciManifestParts> {
  await checkLayoutVersion(source);
  const desc = await chooseManifest(source, options);
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
  return { desc, manifest: manifest as OciManifestParts['manifest'], config, diffIds, types };
}

/**
 * The layers as the verified manifest and config describe them, each blob checked present
 * (a missing one is the same error opening the image gives), none read: what `skopeo
 * inspect` reports without fetching a layer.
 */
export async function describeOciLayers(source: FileSource, parts: OciManifestParts): Promise<LayerDescriptor[]> {
  return Promise.all(parts.manifest.layers.map(async (d, i): Promise<LayerDescriptor> => {
    const where = `${source.label}: layer ${d.digest}`;
    const path = blobPath(d.digest, where);
    if (!(await source.has(path))) {
      if (parts.types[i]!.foreign) throw foreignLayerMissing(d, where);
      // An archive names what it lacks as reading the image would (its read of a missing file).
      if (!(source instanceof DirectorySource)) await source.read(path);
      throw new ImageError(where, INCOMPLETE);
    }
    return { digest: d.digest, diffId: parts.diffIds[i]!, size: d.size, mediaType: d.mediaType ?? '' };
  }));
}


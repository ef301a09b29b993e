import { OCI_INDEX, isIndex, isManifest } from '../oci/media-types.js';
import { typeError, valueError } from '../util/options.js';
import { REF_NAME, type StoreDescriptor } from './content-store.js';
import { checkSize, parseDigest } from './digest.js';
import { StoreError } from './errors.js';

// index.json of a store (image-layout.md "index.json file", image-index.md): parsed and
// checked, and the entry of one ref replaced.

export interface IndexFile {
  schemaVersion: 2;
  mediaType?: string;
  manifests: StoreDescriptor[];
  [key: string]: unknown;
}

export const emptyIndex = (): IndexFile => ({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });

/** index.json's bytes as an image index whose entries each have a valid digest and size. */
export function parseIndex(data: Buffer, where: string): IndexFile {
  let json: Partial<IndexFile> | null;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw new StoreError('ERR_STORE_NOT_A_LAYOUT', where, 'index.json is not JSON');
  }
  if (!json || typeof json !== 'object' || json.schemaVersion !== 2 || !Array.isArray(json.manifests)) {
    throw new StoreError('ERR_STORE_NOT_A_LAYOUT', where, 'index.json is not an image index (schemaVersion 2 with a manifests list)');
  }
  for (const m of json.manifests) {
    if (!m || typeof m !== 'object' || typeof m.size !== 'number') throw new StoreError('ERR_STORE_NOT_A_LAYOUT', where, 'index.json has an entry without a digest and size');
    parseDigest(m.digest, `${where}: index.json`);
  }
  return json as IndexFile;
}

/**
 * annotations.md's grammar for `org.opencontainers.image.ref.name`: components of
 * alphanumerics joined by one of `-._:@+` or `--`, separated by `/`.
 */
const REF_GRAMMAR = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

export function checkRef(ref: unknown): string {
  if (typeof ref !== 'string') throw typeError('ref', 'string', ref);
  if (!REF_GRAMMAR.test(ref)) throw valueError('ref', 'must be a ref name (annotations.md: alphanumeric components joined by -._:@+ or --, separated by /)', ref);
  return ref;
}

/** A descriptor tag() may name: a manifest or an index, with a valid digest and size. */
export function checkManifestDescriptor(d: unknown, where: string): StoreDescriptor {
  if (!d || typeof d !== 'object') throw typeError('manifest', 'object', d);
  const desc = d as StoreDescriptor;
  parseDigest(desc.digest, where);
  checkSize(desc.size, 'manifest.size');
  if (!isManifest(desc.mediaType) && !isIndex(desc.mediaType)) throw valueError('manifest.mediaType', 'must be an OCI or Docker manifest or index media type', desc.mediaType);
  return desc;
}

/** The index with `ref` naming `manifest` (any entry of that ref replaced; the others kept in order). */
export function withTag(index: IndexFile, ref: string, manifest: StoreDescriptor): IndexFile {
  const kept = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== ref);
  const entry: StoreDescriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  if (manifest.platform) entry.platform = manifest.platform;
  entry.annotations = { ...(manifest.annotations ?? {}), [REF_NAME]: ref };
  return { ...index, manifests: [...kept, entry] };
}

export function withoutTag(index: IndexFile, ref: string): IndexFile {
  return { ...index, manifests: index.manifests.filter((m) => m.annotations?.[REF_NAME] !== ref) };
}

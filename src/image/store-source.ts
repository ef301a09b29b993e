import { constants as bufferConstants } from 'node:buffer';
import { digestOf } from './digest.js';
import { DirectorySource, INCOMPLETE, type FileSource } from './blob-source.js';
import type { FileDigest } from '../layer/tar/hash-file.js';
import { ImageError } from './errors.js';
import type { ContentStore, StoreDescriptor } from '../store/content-store.js';
import { DirectoryStore } from '../store/directory-store.js';
import { StoreError } from '../store/errors.js';

// The files of one image in a content store, as the OCI layout readers read a layout: the
// store's blobs, and an index.json that lists only the manifest a reference resolved to. So a
// tag moved by another process between the resolve and the read cannot change the image
// opened, and a manifest no ref names (a digest reference) opens the same way.

const LAYOUT = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

/** index.json of a layout holding just `manifest` (image-index.md), without its annotations: the store's ref is not an OCI `ref.name` the open chooses by. */
function pinnedIndex(manifest: StoreDescriptor): Buffer {
  const { annotations: _, ...desc } = manifest;
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [desc] }));
}

/** `blobs/<alg>/<hex>` back to its digest; undefined for any other path. */
function digestAt(path: string): string | undefined {
  const m = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(path);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** A DirectoryStore's layout read in place (an uncompressed layer is indexed where it lies), its index.json pinned. */
class PinnedDirectory extends DirectorySource {
  constructor(dir: string, private readonly index: Buffer) {
    super(dir);
  }

  override async has(path: string): Promise<boolean> {
    return path === 'index.json' || super.has(path);
  }

  override async read(path: string): Promise<Buffer> {
    return path === 'index.json' ? Buffer.from(this.index) : super.read(path);
  }
}

/**
 * Any ContentStore's blobs through its `read` (a MemoryStore's, re-hashed there as every store
 * read is). `remote`: blobs another party holds (a registry that accepted the manifest, which
 * distribution does only when it has every blob the manifest names), answered present and
 * never read: what `skopeo inspect docker://` relies on.
 */
class StoreSource implements FileSource {
  readonly label: string;

  constructor(private readonly store: ContentStore, private readonly index: Buffer, label: string, private readonly remote: ReadonlySet<string>) {
    this.label = label;
  }

  async has(path: string): Promise<boolean> {
    if (path === 'oci-layout' || path === 'index.json') return true;
    const digest = digestAt(path);
    return digest !== undefined && (this.remote.has(digest) || (await this.store.has(digest)));
  }

  async read(path: string): Promise<Buffer> {
    if (path === 'oci-layout') return Buffer.from(LAYOUT);
    if (path === 'index.json') return Buffer.from(this.index);
    const digest = digestAt(path);
    const where = `${this.label}/${path}`;
    if (digest === undefined) throw new ImageError(where, INCOMPLETE);
    if (this.remote.has(digest)) throw new ImageError(where, 'held by the registry, not fetched: pull the image to read it');
    try {
      return await this.store.read(digest, bufferConstants.MAX_LENGTH);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'ERR_STORE_UNKNOWN_BLOB') throw new ImageError(where, INCOMPLETE, { cause: e });
      throw e;
    }
  }

  async digest(path: string): Promise<FileDigest> {
    const data = await this.read(path);
    return { digest: digestOf(data, 'sha256'), bytes: data.length };
  }
}

/**
 * The files of the image `manifest` names in `store`, for openImageFiles and openManifestFiles
 * (format `oci-layout`). A DirectoryStore is read as the layout it is, by path; any other
 * store through its reads. `label` names the image in messages (a MemoryStore has no path).
 */
export function storeImageFiles(store: ContentStore, manifest: StoreDescriptor, label = store.label, remote: ReadonlySet<string> = new Set()): FileSource {
  const index = pinnedIndex(manifest);
  if (store instanceof DirectoryStore && remote.size === 0) return new PinnedDirectory(store.dir, index);
  return new StoreSource(store, index, label, remote);
}

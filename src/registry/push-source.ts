import * as fs from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ContentStore, StoreDescriptor } from '../store/content-store.js';
import { REF_NAME } from '../store/content-store.js';
import { parseDigest } from '../store/digest.js';
import { DirectoryStore } from '../store/directory-store.js';
import { StoreError } from '../store/errors.js';
import { parseIndex } from '../store/index-file.js';
import { readSmallFile } from '../store/layout-dir.js';
import { readVerified } from '../store/read-verified.js';
import { RegistryError } from './errors.js';
import { MAX_MANIFEST_BYTES } from './manifest.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** How much of a blob file is read at once while it is sent. */
const READ_CHUNK = 1 << 20;

/**
 * Where a push reads the image from: a content store (src/store/), or an OCI image layout
 * directory read as it is (nothing written there: no `.layerfs/`, no lock). Manifests are read
 * whole and checked against their digest; other blobs are streamed as stored, and push checks
 * their size and digest as it sends them (upload.ts).
 */
export interface PushSource {
  readonly label: string;
  /** The entry `ref` names (`org.opencontainers.image.ref.name`); without a ref, the only entry. */
  resolve(ref: string | undefined): Promise<{ ref?: string; descriptor: StoreDescriptor }>;
  /** A manifest or index, whole and checked against its digest; undefined when the source lacks it. */
  readManifest(digest: string): Promise<Buffer | undefined>;
  /** A blob's bytes as stored (ERR_SOURCE when absent or not a regular file). */
  open(digest: string, size: number): AsyncIterable<Uint8Array>;
}

/** Who a source's errors are told to: the push's target reference, and the source's label. */
interface Teller {
  target: string;
  label: string;
}

/** A source error in the push's terms: the target reference, the source, the digest. */
function sourceError(t: Teller, reason: string, digest?: string, cause?: unknown, code: 'ERR_SOURCE' | 'ERR_SIZE' | 'ERR_DIGEST' = 'ERR_SOURCE'): RegistryError {
  return new RegistryError(code, t.target, `the source ${t.label}: ${reason}`, digest, cause === undefined ? undefined : { cause });
}

/** A store's or layout's own failure as the push's: a changed blob is ERR_DIGEST, anything else ERR_SOURCE. */
function fromStoreError(e: unknown, t: Teller, digest?: string): unknown {
  if (!(e instanceof StoreError)) return e;
  const reason = e.message.slice(`${e.where}: `.length).replace(/^sha(256|512):[a-f0-9]+: /, '');
  return sourceError(t, reason, e.digest ?? digest, e, e.code === 'ERR_STORE_DIGEST_MISMATCH' ? 'ERR_DIGEST' : 'ERR_SOURCE');
}

function pick(entries: readonly StoreDescriptor[], ref: string | undefined, t: Teller): { ref?: string; descriptor: StoreDescriptor } {
  const refs = entries.map((m) => m.annotations?.[REF_NAME]).filter((r): r is string => r !== undefined);
  if (ref === undefined) {
    if (entries.length === 1) return { ...(refs[0] !== undefined ? { ref: refs[0] } : {}), descriptor: entries[0]! };
    throw sourceError(t, entries.length === 0 ? 'holds no image' : `holds ${entries.length} images; choose one with ref (refs: ${refs.join(', ') || 'none'})`);
  }
  const found = entries.filter((m) => m.annotations?.[REF_NAME] === ref);
  if (found.length === 0) throw sourceError(t, `no image has ref ${ref} (refs: ${refs.join(', ') || 'none'})`);
  return { ref, descriptor: found[found.length - 1]! };
}

/** A blob file streamed: opened without following a symlink or blocking on a FIFO, a regular file of `size` bytes. */
async function* fileChunks(path: string, digest: string, size: number, t: Teller): AsyncGenerator<Uint8Array> {
  let file;
  try {
    file = await openFile(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw sourceError(t, code === 'ENOENT' ? 'the blob is not in the source' : code === 'ELOOP' ? 'the blob is a symlink, not a stored blob' : `opening the blob failed: ${code ?? (e as Error).message}`, digest, e);
  }
  try {
    const st = await file.stat();
    if (!st.isFile()) throw sourceError(t, 'the blob is not a regular file', digest);
    if (st.size !== size) throw sourceError(t, `the blob has ${st.size} bytes, its descriptor says ${size}`, digest, undefined, 'ERR_SIZE');
    for (let at = 0; ; ) {
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await file.read(buffer, 0, READ_CHUNK, at);
      if (bytesRead === 0) return;
      at += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/** A content store as a push source: its refs, its verified reads; a DirectoryStore's blobs streamed from their files. */
class StoreSource implements PushSource {
  readonly label: string;

  constructor(private readonly store: ContentStore, readonly target: string) {
    this.label = store.label;
  }

  async resolve(ref: string | undefined): Promise<{ ref?: string; descriptor: StoreDescriptor }> {
    try {
      if (ref !== undefined) return { ref, descriptor: await this.store.resolve(ref) };
      return pick((await this.store.images()).images.map((i) => i.manifest), undefined, this);
    } catch (e) {
      throw fromStoreError(e, this);
    }
  }

  async readManifest(digest: string): Promise<Buffer | undefined> {
    try {
      if (!(await this.store.has(digest))) return undefined;
      return await this.store.read(digest, MAX_MANIFEST_BYTES);
    } catch (e) {
      throw fromStoreError(e, this, digest);
    }
  }

  async *open(digest: string, size: number): AsyncGenerator<Uint8Array> {
    if (this.store instanceof DirectoryStore) return yield* fileChunks(this.store.blobPath(digest), digest, size, this);
    // Another store (MemoryStore) holds its blobs in memory already: read whole, checked by push as it sends.
    let data: Buffer;
    try {
      data = await this.store.read(digest, Infinity);
    } catch (e) {
      throw fromStoreError(e, this, digest);
    }
    yield data;
  }
}

/** An OCI image layout directory as a push source, read only (image-layout.md: oci-layout, index.json, blobs/). */
class LayoutSource implements PushSource {
  readonly label: string;

  constructor(dir: string, readonly target: string) {
    this.label = resolve(dir);
  }

  private path(digest: string): string {
    const d = parseDigest(digest, this.label);
    return join(this.label, 'blobs', d.algorithm, d.hex);
  }

  async resolve(ref: string | undefined): Promise<{ ref?: string; descriptor: StoreDescriptor }> {
    try {
      const layout = JSON.parse(readSmallFile(this.label, 'oci-layout').toString('utf8')) as { imageLayoutVersion?: unknown } | null;
      if (layout?.imageLayoutVersion !== '1.0.0') throw sourceError(this, 'not an OCI image layout (oci-layout is not version 1.0.0)');
      return pick(parseIndex(readSmallFile(this.label, 'index.json'), this.label).manifests, ref, this);
    } catch (e) {
      if (e instanceof SyntaxError) throw sourceError(this, 'not an OCI image layout (oci-layout is not JSON)');
      throw fromStoreError(e, this);
    }
  }

  async readManifest(digest: string): Promise<Buffer | undefined> {
    try {
      const path = this.path(digest);
      if (!fs.existsSync(path)) return undefined;
      return readVerified(path, parseDigest(digest, this.label), MAX_MANIFEST_BYTES, this.label);
    } catch (e) {
      throw fromStoreError(e, this, digest);
    }
  }

  open(digest: string, size: number): AsyncIterable<Uint8Array> {
    return fileChunks(this.path(digest), digest, size, this);
  }
}

/** The push source of what `push` is given: a content store, or the path of an OCI image layout. */
export function pushSource(source: ContentStore | string, target: string): PushSource {
  if (typeof source === 'string') return new LayoutSource(source, target);
  if (source && typeof source === 'object' && typeof (source as ContentStore).resolve === 'function' && typeof (source as ContentStore).read === 'function') return new StoreSource(source, target);
  throw new TypeError('The "source" argument must be a ContentStore or the path of an OCI image layout');
}

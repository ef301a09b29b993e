import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BlobBody, ExpectedBlob, IngestOptions, Lease } from './content-store.js';
import { parseDigest, type ParsedDigest } from './digest.js';
import { ioError } from './errors.js';
import type { IngestIndexer } from './ingest-index.js';
import { parseIndex, type IndexFile } from './index-file.js';
import { fsyncDir, listNames, lstatOrUndefined, prepareLayout, PRIVATE_DIR, READ_MAX, readSmallFile, TMP_NAME, writeTemp } from './layout-dir.js';
import { DirectoryLease, LEASE_NAME, readLease } from './directory-lease.js';
import { alive, self } from './owner.js';
import { readVerified } from './read-verified.js';
import { removeSavedIndex } from './saved-index-paths.js';
import { StoreBase } from './store-base.js';
import { StoreLock } from './store-lock.js';
import { streamVerified } from './verified-stream.js';

const ALGORITHMS = ['sha256', 'sha512'] as const;
const HEX = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ } as const;
/** An ingest's temporary file: `<alg>-<hex>.<pid>.<random>`, so gc knows the digest and its writer. */
const INGEST_NAME = /^(sha256|sha512)-([a-f0-9]+)\.(\d+)\.[0-9a-f]{16}$/;

export interface OpenStoreOptions {
  /** Make the directory a layout when it is missing or empty (default true). */
  create?: boolean;
  /** How long to wait for the store's lock before ERR_STORE_LOCKED (default 30 s). */
  lockWaitMs?: number;
}

/**
 * A content store that is an OCI image layout (image-layout.md): `oci-layout`, `index.json`
 * naming each image by `org.opencontainers.image.ref.name`, `blobs/<alg>/<hex>`. skopeo,
 * umoci and openImage read it as they read any layout. Its own state is in `.layerfs/`: the
 * lock, leases, and ingests in progress (docs/store.md).
 *
 * A blob is streamed into `.layerfs/ingest/`, hashed and counted as it comes, fsync'd, and
 * renamed to `blobs/<alg>/<hex>` only once its digest and size match: rename(2) is atomic, so
 * the digest name holds nothing or the whole verified blob, and two writers of one blob each
 * rename a complete copy of the same bytes. index.json is replaced by rename(2) of a complete
 * temporary, under the store's lock (store-lock.ts), so concurrent tags are never lost.
 */
export class DirectoryStore extends StoreBase {
  private readonly lockFile: StoreLock;

  private constructor(readonly dir: string, lockWaitMs: number | undefined) {
    super();
    this.lockFile = new StoreLock(join(dir, PRIVATE_DIR, 'lock'), dir, lockWaitMs);
  }

  get label(): string {
    return this.dir;
  }

  /** Opens (by default making) the store at `dir`; a directory that holds something other than a layout is ERR_STORE_NOT_A_LAYOUT. */
  static async open(dir: string, options: OpenStoreOptions = {}): Promise<DirectoryStore> {
    const root = resolve(dir);
    prepareLayout(root, options.create !== false);
    const store = new DirectoryStore(root, options.lockWaitMs);
    await store.readIndex();
    return store;
  }

  private path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** blobs/<alg>/<hex> of a checked digest. */
  blobPath(digest: string): string {
    const d = parseDigest(digest, this.dir);
    return this.path('blobs', d.algorithm, d.hex);
  }

  /** Replaces a file by rename(2) of a complete temporary: readers see the old one or the new one (`durable`: fsync'd first, by default). */
  replaceFile(target: string, data: string | Buffer, durable = true): void {
    writeTemp(this.dir, data, (temp) => fs.renameSync(temp, target), durable);
  }

  async has(digest: string): Promise<boolean> {
    return (await this.sizeOf(parseDigest(digest, this.dir).digest)) !== undefined;
  }

  protected async sizeOf(digest: string): Promise<number | undefined> {
    const st = lstatOrUndefined(this.blobPath(digest), this.dir, digest);
    return st?.isFile() ? st.size : undefined;
  }

  async read(digest: string, maxBytes = READ_MAX): Promise<Buffer> {
    const d = parseDigest(digest, this.dir);
    return readVerified(this.blobPath(d.digest), d, maxBytes, this.dir);
  }

  async lease(): Promise<Lease> {
    return DirectoryLease.create(this.path(PRIVATE_DIR, 'leases'), this);
  }

  protected ownLease(lease: Lease): DirectoryLease | undefined {
    return lease instanceof DirectoryLease && lease.of(this) ? lease : undefined;
  }

  protected async writeBlob(expected: ExpectedBlob, parsed: ParsedDigest, body: BlobBody, options: IngestOptions = {}): Promise<void> {
    const temp = this.path(PRIVATE_DIR, 'ingest', `${parsed.algorithm}-${parsed.hex}.${process.pid}.${randomBytes(8).toString('hex')}`);
    let file;
    try {
      file = await openFile(temp, 'wx', 0o644);
    } catch (e) {
      throw ioError(e, temp, 'creating the ingest file', parsed.digest);
    }
    // A layer pulled is indexed in the same pass (ingest-index.ts): its bytes go to the tar pass too.
    // Loaded only then: the layer code is not loaded by what only reads a store (inspect).
    const indexer: IngestIndexer | undefined = options.index ? (await import('./ingest-index.js')).IngestIndexer.start(this, { ...expected, digest: parsed.digest }) : undefined;
    let placed: fs.BigIntStats | undefined;
    try {
      try {
        // The body's chunks (16-64 KiB from fetch) are copied into one WRITE_BATCH buffer,
        // written when full: one write(2) per MiB instead of one thread-pool write per chunk.
        // A copy, because a body may refill the buffer it yielded once it is hashed. A batch
        // the index's pass holds is not refilled either: the next batch is a new buffer.
        let pending = Buffer.allocUnsafe(WRITE_BATCH);
        let filled = 0;
        const flush = async () => {
          const batch = pending.subarray(0, filled);
          if (indexer && filled > 0) {
            await Promise.all([writeAll(file, batch), indexer.push(batch)]);
            pending = Buffer.allocUnsafe(WRITE_BATCH);
          } else await writeAll(file, batch);
          filled = 0;
        };
        await streamVerified(expected, parsed, body, this.dir, async (chunk) => {
          for (let at = 0; at < chunk.length; ) {
            const n = Math.min(chunk.length - at, WRITE_BATCH - filled);
            pending.set(chunk.subarray(at, at + n), filled);
            filled += n;
            at += n;
            if (filled === WRITE_BATCH) await flush();
          }
        });
        await flush();
        // streamVerified returned: the bytes are expected.size long and hash to the digest.
        await indexer?.ended(expected.size);
        await file.sync();
        const algDir = this.path('blobs', parsed.algorithm);
        if (parsed.algorithm !== 'sha256') fs.mkdirSync(algDir, { recursive: true, mode: 0o755 });
        // The blob reaches its name whole and verified, or not at all (rename(2) is atomic).
        fs.renameSync(temp, join(algDir, parsed.hex));
        // Its identity as placed (rename moves the ctime), from the descriptor written: not
        // whatever another writer put under the name since.
        if (indexer) placed = await file.stat({ bigint: true });
        fsyncDir(algDir);
      } finally {
        await file.close();
      }
    } catch (e) {
      await indexer?.abandon();
      try {
        fs.rmSync(temp, { force: true });
      } catch {
        // Its directory is no longer one (ENOTDIR): the typed error below is what the caller
        // needs; a temporary left in a real ingest directory goes with the next open's cleanup.
      }
      throw ioError(e, temp, 'writing the blob', parsed.digest);
    }
    if (indexer && placed) await indexer.save(placed);
  }

  protected locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.lockFile.run(fn);
  }

  protected async readIndex(): Promise<IndexFile> {
    return parseIndex(readSmallFile(this.dir, 'index.json'), this.dir);
  }

  protected async writeIndex(index: IndexFile): Promise<void> {
    this.replaceFile(this.path('index.json'), JSON.stringify(index));
    fsyncDir(this.dir);
  }

  protected async listBlobs(): Promise<Array<{ digest: string; size: number }>> {
    const out: Array<{ digest: string; size: number }> = [];
    for (const alg of ALGORITHMS) {
      const algDir = this.path('blobs', alg);
      if (!lstatOrUndefined(algDir, this.dir)?.isDirectory()) continue;
      for (const hex of listNames(algDir)) {
        if (!HEX[alg].test(hex)) continue; // another tool's temporary: not a blob, left alone
        const st = lstatOrUndefined(join(algDir, hex), this.dir);
        if (st?.isFile()) out.push({ digest: `${alg}:${hex}`, size: st.size });
      }
    }
    return out;
  }

  protected async removeBlob(digest: string): Promise<void> {
    try {
      // A layer's saved entry index and kept inflated tar (layer-index.ts) go with its blob.
      removeSavedIndex(this, digest);
      fs.unlinkSync(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(e, this.dir, 'removing the blob', digest);
    }
  }

  protected async held(clean: boolean): Promise<Set<string>> {
    const out = new Set<string>();
    const host = self().host;
    const ingest = this.path(PRIVATE_DIR, 'ingest');
    for (const name of listNames(ingest)) {
      const m = INGEST_NAME.exec(name);
      if (!m) continue;
      if (alive({ pid: Number(m[3]), host })) out.add(`${m[1]}:${m[2]}`);
      else if (clean) fs.rmSync(join(ingest, name), { force: true }); // a killed ingest's
    }
    const leases = this.path(PRIVATE_DIR, 'leases');
    for (const name of listNames(leases)) {
      if (!LEASE_NAME.test(name)) continue;
      const lease = readLease(join(leases, name));
      if (lease === undefined) continue; // unreadable: its digests unknown, kept
      if (alive(lease.owner)) for (const d of lease.digests) out.add(d);
      else if (clean) fs.rmSync(join(leases, name), { force: true });
    }
    if (clean) {
      for (const name of listNames(this.path(PRIVATE_DIR))) {
        const m = TMP_NAME.exec(name);
        if (m && !alive({ pid: Number(m[1]), host })) fs.rmSync(this.path(PRIVATE_DIR, name), { force: true });
      }
    }
    return out;
  }
}

/** Opens (by default making) a content store in `dir`, an OCI image layout. */
export const openContentStore = (dir: string, options?: OpenStoreOptions): Promise<DirectoryStore> => DirectoryStore.open(dir, options);

/** Bytes gathered from an ingest's body before one write. */
const WRITE_BATCH = 1 << 20;

/** write(2) of `bytes` whole: a short write goes on from the first byte not written. */
async function writeAll(file: fs.promises.FileHandle, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; ) at += (await file.write(bytes, at, bytes.length - at)).bytesWritten;
}

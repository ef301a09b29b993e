import type { BlobBody, ExpectedBlob, Lease } from './content-store.js';
import { parseDigest, type ParsedDigest } from './digest.js';
import { StoreError } from './errors.js';
import { emptyIndex, type IndexFile } from './index-file.js';
import { StoreBase } from './store-base.js';
import { streamVerified } from './verified-stream.js';

/**
 * A content store in memory, with the directory store's interface and guarantees: a blob is
 * kept only once verified whole; leases and ingests in progress hold their digests from gc.
 * One process's, so its lock is a queue of promises.
 */
export class MemoryStore extends StoreBase {
  readonly label = 'memory store';
  private readonly blobs = new Map<string, Buffer>();
  private index: IndexFile = emptyIndex();
  private readonly leases = new Set<MemoryLease>();
  /** Digests being ingested, with how many ingests write each. */
  private readonly inFlight = new Map<string, number>();
  private tail: Promise<void> = Promise.resolve();

  async has(digest: string): Promise<boolean> {
    return this.blobs.has(parseDigest(digest, this.label).digest);
  }

  async read(digest: string, maxBytes = Infinity): Promise<Buffer> {
    const d = parseDigest(digest, this.label).digest;
    const data = this.blobs.get(d);
    if (!data) throw new StoreError('ERR_STORE_UNKNOWN_BLOB', this.label, 'not stored', d);
    if (data.length > maxBytes) throw new StoreError('ERR_STORE_OVERSIZED', this.label, `${data.length} bytes, more than the ${maxBytes} read`, d);
    return Buffer.from(data);
  }

  protected ownLease(lease: Lease): MemoryLease | undefined {
    return lease instanceof MemoryLease && this.leases.has(lease) ? lease : undefined;
  }

  protected async writeBlob(expected: ExpectedBlob, parsed: ParsedDigest, body: BlobBody): Promise<void> {
    this.inFlight.set(parsed.digest, (this.inFlight.get(parsed.digest) ?? 0) + 1);
    try {
      const chunks: Buffer[] = [];
      await streamVerified(expected, parsed, body, this.label, (c) => void chunks.push(Buffer.from(c)));
      this.blobs.set(parsed.digest, Buffer.concat(chunks));
    } finally {
      const n = this.inFlight.get(parsed.digest)! - 1;
      if (n === 0) this.inFlight.delete(parsed.digest);
      else this.inFlight.set(parsed.digest, n);
    }
  }

  async lease(): Promise<Lease> {
    const lease = new MemoryLease(() => void this.leases.delete(lease));
    this.leases.add(lease);
    return lease;
  }

  protected async sizeOf(digest: string): Promise<number | undefined> {
    return this.blobs.get(digest)?.length;
  }

  protected async locked<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.tail;
    let done!: () => void;
    this.tail = new Promise((r) => (done = r));
    await before;
    try {
      return await fn();
    } finally {
      done();
    }
  }

  protected async readIndex(): Promise<IndexFile> {
    return structuredClone(this.index);
  }

  protected async writeIndex(index: IndexFile): Promise<void> {
    this.index = structuredClone(index);
  }

  protected async listBlobs(): Promise<Array<{ digest: string; size: number }>> {
    return [...this.blobs].map(([digest, data]) => ({ digest, size: data.length }));
  }

  protected async removeBlob(digest: string): Promise<void> {
    this.blobs.delete(digest);
  }

  protected async held(): Promise<Set<string>> {
    const out = new Set(this.inFlight.keys());
    for (const l of this.leases) for (const d of l.digests) out.add(d);
    return out;
  }
}

class MemoryLease implements Lease {
  private readonly held = new Set<string>();

  constructor(private readonly onRelease: () => void) {}

  get digests(): ReadonlySet<string> {
    return this.held;
  }

  add(digest: string): void {
    this.held.add(digest);
  }

  async release(): Promise<void> {
    this.onRelease();
  }
}

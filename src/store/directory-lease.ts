import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Lease } from './content-store.js';
import { ioError } from './errors.js';
import { self, type Owner } from './owner.js';

/** A lease file of `.layerfs/leases/`: `<pid>.<random>.json`. */
export const LEASE_NAME = /^\d+\.[0-9a-f]{16}\.json$/;

interface LeaseRecord {
  owner: Owner;
  digests: string[];
}

/** What a lease file holds, or undefined when it cannot be read (gone, or not a lease). */
export function readLease(path: string): LeaseRecord | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(path, 'utf8')) as Partial<LeaseRecord> | null;
    if (!v || typeof v !== 'object' || !v.owner || !Array.isArray(v.digests) || !v.digests.every((d) => typeof d === 'string')) return undefined;
    return v as LeaseRecord;
  } catch {
    return undefined;
  }
}

/** The file replacing a lease's, complete before it is renamed over the old one. */
interface LeaseWriter {
  replaceFile(target: string, data: string, durable?: boolean): void;
}

/**
 * A lease of a directory store: a file naming its owner and the digests it holds, replaced
 * whole (rename(2)) as it gains one, removed on release. While its owner lives, gc keeps
 * those blobs; a killed owner's lease is removed by the next gc (owner.ts).
 */
export class DirectoryLease implements Lease {
  private readonly held = new Set<string>();
  private released = false;

  private constructor(private readonly path: string, private readonly store: LeaseWriter) {}

  static async create(dir: string, store: LeaseWriter): Promise<DirectoryLease> {
    const lease = new DirectoryLease(join(dir, `${process.pid}.${randomBytes(8).toString('hex')}.json`), store);
    lease.write();
    return lease;
  }

  get digests(): ReadonlySet<string> {
    return this.held;
  }

  /** Whether this is a live lease of `store`. */
  of(store: LeaseWriter): boolean {
    return this.store === store && !this.released;
  }

  /** Holds `digest` (the caller holds the store's lock). */
  async add(digest: string): Promise<void> {
    if (this.held.has(digest)) return;
    this.held.add(digest);
    this.write();
  }

  private write(): void {
    const record: LeaseRecord = { owner: self(), digests: [...this.held] };
    // Not fsync'd: a lease matters only while its owner lives, and a crash ends the owner.
    this.store.replaceFile(this.path, JSON.stringify(record), false);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      fs.rmSync(this.path, { force: true });
    } catch (e) {
      throw ioError(e, this.path, 'releasing the lease');
    }
  }
}

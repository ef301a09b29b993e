import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError, ioError } from './errors.js';
import { alive, self, type Owner } from './owner.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/**
 * The store's one lock, held while index.json is read and replaced, while gc marks and
 * sweeps, and while a lease gains a digest: a file made with O_CREAT|O_EXCL (open(2): exactly
 * one creator succeeds), holding its owner (pid, host). It is held for milliseconds, never
 * while a blob streams.
 *
 * A lock whose owner is dead (killed while holding it: kill(2) says ESRCH) is broken: renamed
 * to a name of the breaker's own, and checked to be the very file (inode) found stale; a
 * breaker that moved a fresh lock (another breaker was faster and a new owner took it) puts
 * it back with link(2), which never replaces. The owner checks, before it releases, that the
 * name still holds its own file.
 */
export class StoreLock {
  /** In-process queue: one holder per process at a time, the others wait without polling. */
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly path: string, private readonly where: string, private readonly waitMs = 30_000) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.tail;
    let done!: () => void;
    this.tail = new Promise((r) => (done = r));
    await before;
    try {
      const ino = await this.acquire();
      try {
        return await fn();
      } finally {
        this.release(ino);
      }
    } finally {
      done();
    }
  }

  private async acquire(): Promise<number> {
    const deadline = Date.now() + this.waitMs;
    for (let tries = 0; ; tries++) {
      let fd: number;
      try {
        fd = openSync(this.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, this.where, 'taking the store lock');
        this.breakIfStale();
        if (Date.now() > deadline) throw new StoreError('ERR_STORE_LOCKED', this.where, `the store lock ${this.path} stayed held for ${this.waitMs} ms (by ${this.describeOwner()})`);
        await sleep(Math.min(2 + tries, 25) * (0.5 + Math.random()));
        continue;
      }
      try {
        writeSync(fd, JSON.stringify(self()));
        return fstatSync(fd).ino;
      } finally {
        closeSync(fd);
      }
    }
  }

  private owner(): { owner: Partial<Owner> | undefined; ino: number } | undefined {
    try {
      const st = lstatSync(this.path);
      let owner: Partial<Owner> | undefined;
      try {
        owner = JSON.parse(readFileSync(this.path, 'utf8'));
      } catch {
        // Written a moment ago and still empty, or not JSON: its owner is unknown, so alive.
      }
      return { owner, ino: st.ino };
    } catch {
      return undefined; // released meanwhile
    }
  }

  private describeOwner(): string {
    const o = this.owner()?.owner;
    return o ? `pid ${o.pid} on ${o.host}` : 'an unknown owner';
  }

  private breakIfStale(): void {
    const found = this.owner();
    if (!found || alive(found.owner)) return;
    const aside = `${this.path}.stale.${randomBytes(8).toString('hex')}`;
    try {
      renameSync(this.path, aside);
    } catch {
      return; // released or broken by another process meanwhile
    }
    try {
      if (lstatSync(aside).ino !== found.ino) {
        // Not the file found stale: a live owner's, taken after another breaker. Back, never replacing.
        try {
          linkSync(aside, this.path);
        } catch {
          // Taken again meanwhile: that owner's release finds its file gone and says so.
        }
      }
    } finally {
      try {
        unlinkSync(aside);
      } catch {
        // Nothing to clean.
      }
    }
  }

  private release(ino: number): void {
    let st;
    try {
      st = lstatSync(this.path);
    } catch (e) {
      throw ioError(e, this.where, 'releasing the store lock: it was removed by another process while held');
    }
    if (st.ino !== ino) throw new StoreError('ERR_STORE_LOCKED', this.where, `the store lock ${this.path} was taken from this process while held`);
    unlinkSync(this.path);
  }
}

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { HASH_WORKER, hashChunksHere, hashFileInWorker, hashOpenFile, IDLE_MS } from '../../src/layer/tar/hash-file.js';
import { SequentialReader } from '../../src/tar/sequential-reader.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-hash-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
function randomFile(name: string, size: number): { path: string; sha: string } {
  const path = join(dir, name);
  fs.writeFileSync(path, randomBytes(size));
  return { path, sha: `sha256:${execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]}` };
}
async function withFd<T>(path: string, f: (fd: number) => Promise<T>): Promise<T> {
  const fd = fs.openSync(path, 'r');
  try {
    return await f(fd);
  } finally {
    fs.closeSync(fd);
  }
}

describe('the hashing worker', () => {
  // A worker inherits the process's flags: under `node --input-type=module` its eval'd program
  // is an ES module (a program using require failed there: layers of 32 MiB or more could not
  // be opened from such a process).
  for (const execArgv of [[], ['--input-type=module']]) {
    it(`gives sha256sum's digest with flags [${execArgv.join(' ')}]`, async () => {
      const { path, sha } = randomFile(`flags${execArgv.length}`, 3 * 2 ** 20 + 123);
      await withFd(path, async (fd) => {
        const worker = new Worker(HASH_WORKER, { eval: true, execArgv });
        const messages: unknown[] = [];
        const result = await new Promise((resolve, reject) => {
          worker.on('message', (m) => {
            messages.push(m);
            if (messages.length === 1) worker.postMessage(fd); // the first says it is ready
            else resolve(m);
          });
          worker.once('error', reject);
        });
        await worker.terminate();
        expect(result).toEqual({ digest: sha, bytes: 3 * 2 ** 20 + 123 });
      });
    });
  }

  it('kept workers hash file after file; stopping a job that finished does not touch its worker\'s next job', async () => {
    const files = [randomFile('a', 2 ** 20), randomFile('b', 5), randomFile('c', 8 * 2 ** 20 + 1)];
    for (const { path, sha } of files) await withFd(path, async (fd) => expect((await hashFileInWorker(fd).digest).digest).toBe(sha));
    const [a, , c] = files;
    await withFd(a!.path, (fdA) => withFd(c!.path, async (fdC) => {
      const first = hashFileInWorker(fdA);
      await first.digest;
      const next = hashFileInWorker(fdC); // takes the worker the first job gave back
      await first.stop(); // as TarLayer does when a check after hashing fails
      expect((await next.digest).digest).toBe(c!.sha);
    }));
  });

  it('a file hashed just as a kept worker\'s idle time runs out gets a live worker', async () => {
    const { path, sha } = randomFile('idle', 2 ** 20);
    await withFd(path, async (fd) => expect((await hashFileInWorker(fd).digest).digest).toBe(sha));
    // Timers due at the same time run in the order they were set: the pool's first, which
    // ends the idle worker. The pool once still held it then, exiting, and handed it out.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    await withFd(path, async (fd) => expect((await hashFileInWorker(fd).digest).digest).toBe(sha));
  });

  it('stopping a worker mid-file ends it, and later files still hash', async () => {
    const big = randomFile('big', 64 * 2 ** 20);
    await withFd(big.path, async (fd) => {
      const job = hashFileInWorker(fd);
      await job.stop();
      await expect(job.digest).rejects.toThrow(/hashing stopped/);
    });
    await withFd(big.path, async (fd) => expect((await hashFileInWorker(fd).digest).digest).toBe(big.sha));
  });

  it('reads no more than its limit (a layer passes size + 1): a device is not read on, a file that grew shows one byte over', async () => {
    const { path } = randomFile('limit', 2 ** 20 + 5);
    await withFd(path, async (fd) => {
      expect(hashOpenFile(fd, fs.readSync, createHash, 1000).bytes).toBe(1000);
      expect((await hashFileInWorker(fd, 2 ** 20 + 1).digest).bytes).toBe(2 ** 20 + 1);
    });
    await withFd('/dev/zero', async (fd) => expect((await hashFileInWorker(fd, 3 * 2 ** 20 + 7).digest).bytes).toBe(3 * 2 ** 20 + 7));
  });
});

describe('hashing the chunks of one sequential read (the header walk\'s digest, a layer under 32 MiB)', () => {
  it('gives sha256sum\'s digest; a limit of size + 1 shows a file that grew as one byte over', async () => {
    const { path, sha } = randomFile('chunks', 23 * 2 ** 16 - 100);
    await withFd(path, async (fd) => {
      const digest = hashChunksHere();
      expect(new SequentialReader(fd, Number.MAX_SAFE_INTEGER, digest, 2 ** 16).finish()).toBe(23 * 2 ** 16 - 100);
      expect(digest.end()).toEqual({ digest: sha, bytes: 23 * 2 ** 16 - 100 });
      // The layer believed 1000 bytes shorter: 1001 read, and the count says so.
      const short = hashChunksHere();
      expect(new SequentialReader(fd, 23 * 2 ** 16 - 1100 + 1, short, 2 ** 16).finish()).toBe(23 * 2 ** 16 - 1099);
      expect(short.end().bytes).toBe(23 * 2 ** 16 - 1099);
    });
  });

  it('a range that spans chunks is copied whole; the reader only goes forward', async () => {
    const { path } = randomFile('spans', 10_000);
    const bytes = fs.readFileSync(path);
    await withFd(path, async (fd) => {
      const reader = new SequentialReader(fd, 10_000, undefined, 1024);
      expect(reader.view(0, 512)).toBeUndefined(); // nothing read yet
      expect(reader.load(1000, 3000)).toEqual(bytes.subarray(1000, 4000));
      expect(reader.view(4000, 96)).toEqual(bytes.subarray(4000, 4096));
      expect(() => reader.load(0, 10)).toThrow(/only goes forward/);
      expect(reader.load(9990, 20)).toBeUndefined(); // the file ends first
    });
  });
});

import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkSink } from '../../tar/sequential-reader.js';

/** sha256 of an open file, read by position into one reused buffer, to its end or `limit`
 * bytes, whichever comes first (no module imports: it is also the hashing worker's program,
 * by its source text). A caller that knows the size passes size + 1: a file that grew shows
 * as one byte too many, and a device that never ends is not read on. */
export function hashOpenFile(
  fd: number,
  readSync: (fd: number, buffer: Buffer, offset: number, length: number, position: number) => number,
  createHash: (algorithm: string) => { update(data: Buffer): unknown; digest(encoding: 'hex'): string },
  limit = Number.MAX_SAFE_INTEGER,
): FileDigest {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  for (let n; bytes < limit && (n = readSync(fd, buffer, 0, Math.min(buffer.length, limit - bytes), bytes)) > 0; bytes += n) hash.update(buffer.subarray(0, n));
  return { digest: 'sha256:' + hash.digest('hex'), bytes };
}

/**
 * The workers' whole program (plain JavaScript, so that it runs the same from src/ under the
 * test runner and from dist/): for each descriptor posted (a number, or `{ fd, limit }`),
 * hashOpenFile, reported back. It
 * reads by position (pread), so it hashes the very file the caller parses, even if the path is
 * replaced meanwhile, and leaves the descriptor open. It loads modules with import(), not
 * require: a worker inherits the process's flags, and under `node --input-type=module` eval'd
 * code is an ES module, where require is not defined.
 */
export const HASH_WORKER = `
Promise.all([import('node:worker_threads'), import('node:crypto'), import('node:fs')]).then(([{ parentPort }, { createHash }, { readSync }]) => {
  const hashOpenFile = ${hashOpenFile.toString()};
  parentPort.on('message', (m) => {
    try {
      parentPort.postMessage(typeof m === 'number' ? hashOpenFile(m, readSync, createHash) : hashOpenFile(m.fd, readSync, createHash, m.limit));
    } catch (e) {
      parentPort.postMessage({ error: e.message });
    }
  });
  parentPort.postMessage({ ready: true });
});
`;

export interface FileDigest {
  digest: string;
  bytes: number;
}

/** Idle hashing workers, kept for the next layer (starting one costs 20-30 ms here), each with
 * the timer that ends it. A worker is taken out of the pool before anything ends it, so the
 * pool never hands out a worker that is exiting. */
const idle: Array<{ worker: Worker; timer: NodeJS.Timeout }> = [];
/** An idle worker is ended after this long unused (its thread holds a few MiB). */
export const IDLE_MS = 2000;

/** Takes `worker` out of the pool (its timer with it); false if it was not there. */
function unpool(worker: Worker): boolean {
  const i = idle.findIndex((w) => w.worker === worker);
  if (i < 0) return false;
  clearTimeout(idle[i]!.timer);
  idle.splice(i, 1);
  return true;
}

/** A started worker whose program has loaded (it says so once). */
function startWorker(): Promise<Worker> {
  const worker = new Worker(HASH_WORKER, { eval: true });
  worker.on('exit', () => unpool(worker)); // one that crashed while idle leaves the pool
  return new Promise((resolve, reject) => {
    worker.once('message', () => {
      worker.off('error', reject);
      resolve(worker);
    });
    worker.once('error', reject);
  });
}

/** A kept worker, out of the pool, or a new one. */
function takeWorker(): Promise<Worker> {
  const kept = idle.pop();
  if (!kept) return startWorker();
  clearTimeout(kept.timer);
  return Promise.resolve(kept.worker);
}

/** Keeps a worker that finished a file for the next one, or ends it if enough are kept. */
function release(worker: Worker): void {
  if (idle.length >= availableParallelism()) return void worker.terminate();
  worker.unref(); // an idle worker does not keep the process alive
  const timer = setTimeout(() => {
    if (unpool(worker)) void worker.terminate();
  }, IDLE_MS).unref();
  idle.push({ worker, timer });
}

/**
 * sha256 of an open file on another thread. Indexing an uncompressed layer on disk spends most
 * of its time hashing (sha256 runs at about 1.3 GiB/s here); on a second core it overlaps the
 * parse instead of adding to it. Workers are kept a few seconds for the next layer. The caller
 * keeps `fd` open until `digest` settles or `stop()` resolves.
 */
/** The file being hashed on a worker: its digest to come, and how to stop the worker early. */
export interface HashAside {
  digest: Promise<FileDigest>;
  stop: () => Promise<void>;
}

export function hashFileInWorker(fd: number, limit = Number.MAX_SAFE_INTEGER): HashAside {
  const started = takeWorker();
  let stopped = false;
  let finished = false;
  const digest = started.then((worker) => new Promise<FileDigest>((resolve, reject) => {
    worker.ref();
    const onError = (e: Error) => {
      worker.off('exit', onExit);
      reject(e);
    };
    const onExit = () => {
      worker.off('error', onError);
      reject(new Error('hashing stopped'));
    };
    worker.once('message', (m: FileDigest | { error: string }) => {
      finished = true;
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (stopped) return void worker.terminate();
      release(worker);
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
    });
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.postMessage({ fd, limit });
  }));
  digest.catch(() => {}); // a caller that stops early does not wait for it
  return {
    digest,
    // A layer refused halfway (a bomb, a corrupt header) must not keep a thread reading it:
    // the worker is ended, not kept.
    stop: async () => {
      if (finished) return; // the worker went back to the pool
      stopped = true;
      const worker = await started.catch(() => undefined);
      if (worker) await worker.terminate();
    },
  };
}

/** A digest taken of the chunks a sequential read of the file hands on (sequential-reader.ts). */
export interface ChunkDigest extends ChunkSink {
  /** After the last chunk: the digest of every byte taken, and their number. */
  end(): FileDigest;
}

/**
 * The chunks hashed on this thread as they come: the digest of a file read once, where
 * hashOpenFile would read it a second time.
 */
export function hashChunksHere(): ChunkDigest {
  const hash = createHash('sha256');
  let bytes = 0;
  return {
    take(chunk) {
      hash.update(chunk);
      bytes += chunk.length;
    },
    end: () => ({ digest: 'sha256:' + hash.digest('hex'), bytes }),
  };
}

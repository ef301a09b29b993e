import { Worker } from 'node:worker_threads';

/**
 * The worker's whole program (plain JavaScript, so that it runs the same from src/ under the
 * test runner and from dist/): hash the open file and report the digest and size. It reads
 * the caller's descriptor by position (pread), so it hashes the very file the caller parses,
 * even if the path is replaced meanwhile, and leaves the descriptor open. It loads modules
 * with import(), not require: a worker inherits the process's flags, and under
 * `node --input-type=module` eval'd code is an ES module, where require is not defined.
 */
export const HASH_WORKER = `
Promise.all([import('node:worker_threads'), import('node:crypto'), import('node:fs')]).then(([{ parentPort, workerData }, { createHash }, { readSync }]) => {
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1 << 20);
    let bytes = 0;
    for (let n; (n = readSync(workerData, buffer, 0, buffer.length, bytes)) > 0; bytes += n) {
      hash.update(buffer.subarray(0, n));
    }
    parentPort.postMessage({ digest: 'sha256:' + hash.digest('hex'), bytes });
  } catch (e) {
    parentPort.postMessage({ error: e.message });
  }
});
`;

export interface FileDigest {
  digest: string;
  bytes: number;
}

/**
 * sha256 of an open file on another thread. Indexing an uncompressed layer on disk spends a
 * third of its time hashing (sha256 runs at about 1.1 GiB/s here); on a second core it
 * overlaps the parse instead of adding to it. The caller keeps `fd` open until `digest`
 * settles or `stop()` resolves.
 */
export function hashFileInWorker(fd: number): { digest: Promise<FileDigest>; stop: () => Promise<void> } {
  const worker = new Worker(HASH_WORKER, { eval: true, workerData: fd });
  const digest = new Promise<FileDigest>((resolve, reject) => {
    worker.once('message', (m: FileDigest | { error: string }) => {
      void worker.terminate();
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
    });
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('hashing stopped')));
  });
  digest.catch(() => {}); // a caller that stops early does not wait for it
  // A layer refused halfway (a bomb, a corrupt header) must not keep a thread reading it.
  return { digest, stop: async () => void (await worker.terminate()) };
}

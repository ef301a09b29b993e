import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HASH_WORKER } from '../../src/layer/tar/hash-file.js';

describe('the hashing worker', () => {
  // A worker inherits the process's flags: under `node --input-type=module` its eval'd program
  // is an ES module (a program using require failed there: layers of 32 MiB or more could not
  // be opened from such a process).
  for (const execArgv of [[], ['--input-type=module']]) {
    it(`gives sha256sum's digest with flags [${execArgv.join(' ')}]`, async () => {
      const file = join(fs.mkdtempSync(join(tmpdir(), 'lfs-hash-')), 'data');
      fs.writeFileSync(file, randomBytes(3 * 2 ** 20 + 123));
      const fd = fs.openSync(file, 'r');
      try {
        const worker = new Worker(HASH_WORKER, { eval: true, workerData: fd, execArgv });
        const result = await new Promise((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        await worker.terminate();
        const sha = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
        expect(result).toEqual({ digest: `sha256:${sha}`, bytes: 3 * 2 ** 20 + 123 });
      } finally {
        fs.closeSync(fd);
        fs.rmSync(file);
      }
    });
  }
});

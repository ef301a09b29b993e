/**
 * Opening layers: TarLayer's one-pass index against the practical limits measured in the same
 * run on the same bytes — Node zlib's gunzip (for gzip layers), sha256 of the bytes (every
 * byte's digest is verified), and GNU `tar -xzf` to a tmpfs- or disk-backed directory (what an
 * extracting tool pays). Also prints the memory each
 * content strategy keeps: index bytes per entry (uncompressed tar on disk, content left in
 * place) and heap per entry with content in memory. `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { bench, describe } from 'vitest';
import { TarLayer } from '../src/index.js';

const ENTRIES = 20_000;
const TOTAL_BYTES = 150 * 2 ** 20;
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-bench-mount-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** A generated layer: ENTRIES files in 200 directories, TOTAL_BYTES of compressible content. */
async function makeLayer(): Promise<Buffer> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  const per = Math.floor(TOTAL_BYTES / ENTRIES);
  for (let i = 0; i < ENTRIES; i++) {
    const body = Buffer.alloc(per, `file ${i} of the benchmark layer; `);
    p.entry({ name: `usr/lib/d${i % 200}/f${i}.so`, mode: 0o644 }, body);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const plain = await makeLayer();
const gz = gzipSync(plain, { level: 6 });
const plainPath = join(dir, 'layer.tar');
const gzPath = join(dir, 'layer.tar.gz');
fs.writeFileSync(plainPath, plain);
fs.writeFileSync(gzPath, gz);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
};
async function heapCost(open: () => Promise<TarLayer>): Promise<{ perEntry: number; total: number; layer: TarLayer }> {
  await settle();
  const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const layer = await open();
  await settle();
  const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  return { perEntry: (after - before) / layer.entries.size, total: after - before, layer };
}
const onDisk = await heapCost(() => TarLayer.from(plainPath));
const inMemory = await heapCost(() => TarLayer.from(gzPath));
const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
console.log([
  `mount benchmark data: ${ENTRIES} entries, ${mb(plain.length)} uncompressed, ${mb(gz.length)} gzip`,
  `  uncompressed tar on disk (content read by offset): index ${Math.round(onDisk.perEntry)} bytes/entry, ${mb(onDisk.total)} kept (contentOnDisk=${onDisk.layer.info.contentOnDisk})`,
  `  gzip layer (content held in memory):               ${Math.round(inMemory.perEntry)} bytes/entry, ${mb(inMemory.total)} kept`,
  `  peak RSS of this process so far: ${mb(process.resourceUsage().maxRSS * 1024)}`,
].join('\n'));

const extractTo = join(dir, 'x');
describe(`open a gzip layer (${mb(gz.length)} -> ${mb(plain.length)}, ${ENTRIES} entries)`, () => {
  bench('layerfs TarLayer.from (index + content in memory)', async () => void (await TarLayer.from(gzPath)), { iterations: 3, warmupIterations: 1 });
  bench('node zlib gunzipSync of the same bytes (the limit)', () => void gunzipSync(gz), { iterations: 3, warmupIterations: 1 });
  bench('GNU tar -xzf to a directory', () => {
    fs.rmSync(extractTo, { recursive: true, force: true });
    fs.mkdirSync(extractTo);
    execFileSync('tar', ['-xzf', gzPath, '-C', extractTo]);
  }, { iterations: 3, warmupIterations: 1 });
});

describe(`index an uncompressed layer on disk (${mb(plain.length)}, ${ENTRIES} entries)`, () => {
  bench('layerfs TarLayer.from (index only, content left on disk)', async () => void (await TarLayer.from(plainPath)), { iterations: 3, warmupIterations: 1 });
  // The floor for any reader that verifies the digest: sha256 of every byte, already in memory.
  bench('node crypto sha256 of the same bytes in memory (the digest alone)', () => void createHash('sha256').update(plain).digest(), { iterations: 3, warmupIterations: 1 });
  bench('GNU tar -xf to a directory', () => {
    fs.rmSync(extractTo, { recursive: true, force: true });
    fs.mkdirSync(extractTo);
    execFileSync('tar', ['-xf', plainPath, '-C', extractTo]);
  }, { iterations: 3, warmupIterations: 1 });
});

/**
 * Opening layers and images: TarLayer's one-pass index against the practical limits measured
 * in the same run on the same bytes — Node zlib's gunzip (for gzip layers), sha256 of the bytes
 * (every byte's digest is verified), and GNU tar extracting the same archive. The generated
 * content compresses like /usr/lib here (bench/support/layer-content.ts); a layer of one
 * repeated string, which gunzips three times faster than anything real, is kept as a stress
 * case. Memory (index bytes per entry, heap per entry with content spilled or in memory, peak
 * RSS of a process that only opens the layer, and of one that opens a 1 GiB gzip bomb) goes
 * to bench/memory.json for the report. The gzip and zstd opens are also timed as a whole
 * process against the floor's whole process (issue 17): inflate + sha256 on two threads
 * (bench/support/inflate-hash-floor.mjs) for gzip, `zstd -dc` piped to `openssl sha256` plus
 * `openssl sha256` of the blob for zstd (coreutils' sha256sum does not use the CPU's SHA
 * instructions here and is five times slower than openssl: it would make the floor slow).
 * `npm run bench` (it builds dist/ first: the peak-RSS child and the whole-process rows run
 * the built library).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { afterAll, bench, describe } from 'vitest';
import { openImage, TarLayer, type TarLayerOptions } from '../src/index.js';
import { DEMO_IMAGE } from '../src/demo/walkthrough.js';
import { writeOciLayout } from '../test/support/oci-layout.js';
import { fileHeader } from '../test/support/to-tar.js';
import { contentPool, slicer } from './support/layer-content.js';

const ENTRIES = 20_000;
const TOTAL_BYTES = 150 * 2 ** 20;
const PER_FILE = Math.floor(TOTAL_BYTES / ENTRIES);
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-bench-mount-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true })); // vitest ends bench workers without 'exit'

/** A tar of `count` files (in 200 directories, named by `prefix`), bodies from `body`. */
async function makeTar(count: number, body: (i: number) => Buffer, prefix = 'usr/lib'): Promise<Buffer> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (let i = 0; i < count; i++) p.entry({ name: `${prefix}/d${i % 200}/f${i}.so`, mode: 0o644 }, body(i));
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const slice = slicer(contentPool(4 * 2 ** 20));
const bodies = Array.from({ length: ENTRIES }, () => slice(PER_FILE));
const plain = await makeTar(ENTRIES, (i) => bodies[i]!);
const gz = gzipSync(plain, { level: 6 });
const repetitive = gzipSync(await makeTar(ENTRIES, (i) => Buffer.alloc(PER_FILE, `file ${i} of the benchmark layer; `)), { level: 6 });
const plainPath = join(dir, 'layer.tar');
const gzPath = join(dir, 'layer.tar.gz');
const repetitivePath = join(dir, 'repetitive.tar.gz');
fs.writeFileSync(plainPath, plain);
fs.writeFileSync(gzPath, gz);
fs.writeFileSync(repetitivePath, repetitive);

// The same 20,000 files as a 4-layer OCI image (every 4th file in each layer).
const LAYERS = 4;
const imageTars: Buffer[] = [];
for (let l = 0; l < LAYERS; l++) imageTars.push(await makeTar(ENTRIES / LAYERS, (i) => bodies[i * LAYERS + l]!, `usr/lib/l${l}`));
const imageBlobs = imageTars.map((t) => gzipSync(t, { level: 6 }));
const imagePath = join(dir, 'image');
const imageBlobPaths = writeOciLayout(imagePath, imageBlobs, 'application/vnd.oci.image.layer.v1.tar+gzip');
// The same layers compressed by the zstd command (level 3, its default).
const zstdOf = (tar: Buffer) => execFileSync('zstd', ['-3', '-q', '-c'], { input: tar, maxBuffer: 2 ** 30 });
const zstPath = join(dir, 'layer.tar.zst');
fs.writeFileSync(zstPath, zstdOf(plain));
const zstdImagePath = join(dir, 'image-zstd');
const zstdImageBlobPaths = writeOciLayout(zstdImagePath, imageTars.map(zstdOf), 'application/vnd.oci.image.layer.v1.tar+zstd', {
  diffIds: imageTars.map((t) => `sha256:${createHash('sha256').update(t).digest('hex')}`),
});
const demo = await openImage(DEMO_IMAGE);
// Its layers are gzip (umoci's default); gunzip of them is the peer.
const demoBlobs = await Promise.all(demo.layers.map((_, i) => demo.layerBlob(i)));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
};
/**
 * Heap and array-buffer bytes an opened layer keeps, after collection. Only the numbers are
 * kept: a layer left referenced would sit in the heap every later timed run has to collect.
 */
async function heapCost(open: () => Promise<TarLayer>): Promise<{ perEntry: number; total: number }> {
  await settle();
  const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  let layer: TarLayer | undefined = await open();
  await settle();
  const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const entries = layer.entries.size;
  layer = undefined;
  return { perEntry: (after - before) / entries, total: after - before };
}
/**
 * Peak RSS of a fresh process that opens `file` with the built library, less that of one that
 * only loads it. Read from VmHWM in /proc/self/status: getrusage's maxRSS is inherited from the
 * parent across fork and exec, so a child of this large process reports the parent's size.
 */
function peakRss(file: string, options: TarLayerOptions = {}): number | undefined {
  if (!fs.existsSync('dist/index.js')) return undefined;
  const lib = JSON.stringify(join(process.cwd(), 'dist/index.js'));
  const hwm = "Number(/VmHWM:\\s+(\\d+) kB/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]) * 1024";
  const run = (code: string) => Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }).trim());
  const bare = run(`await import(${lib}); console.log(${hwm})`);
  const open = run(`const { TarLayer } = await import(${lib}); await TarLayer.from(${JSON.stringify(file)}, ${JSON.stringify(options)}); console.log(${hwm})`);
  return open - bare;
}
/**
 * A gzip bomb: one file of 1 GiB of zeros. gzip members may follow one another (RFC 1952
 * 2.2), so it is one compressed MiB of zeros repeated, made in milliseconds.
 */
async function writeBomb(path: string): Promise<void> {
  const mib = gzipSync(Buffer.alloc(2 ** 20));
  fs.writeFileSync(path, Buffer.concat([gzipSync(await fileHeader('bomb', 2 ** 30)), ...Array<Buffer>(1024).fill(mib), gzipSync(Buffer.alloc(1024))]));
}
const bombPath = join(dir, 'bomb.tar.gz');
await writeBomb(bombPath);
const onDisk = await heapCost(() => TarLayer.from(plainPath));
const spilled = await heapCost(() => TarLayer.from(gzPath));
const inMemory = await heapCost(() => TarLayer.from(gzPath, { content: 'memory' }));
const memory = {
  entries: ENTRIES,
  uncompressedBytes: plain.length,
  gzipBytes: gz.length,
  onDisk: { bytesPerEntry: onDisk.perEntry, keptBytes: onDisk.total, peakRssBytes: peakRss(plainPath) },
  spilled: { bytesPerEntry: spilled.perEntry, keptBytes: spilled.total, peakRssBytes: peakRss(gzPath) },
  inMemory: { bytesPerEntry: inMemory.perEntry, keptBytes: inMemory.total, peakRssBytes: peakRss(gzPath, { content: 'memory' }) },
  bomb: { uncompressedBytes: 2 ** 30, gzipBytes: fs.statSync(bombPath).size, peakRssBytes: peakRss(bombPath) },
};
fs.writeFileSync('bench/memory.json', JSON.stringify(memory, null, 2));

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const ratio = (plain.length / gz.length).toFixed(1);
const extractTo = join(dir, 'x');
const tarExtract = (args: string[]) => () => {
  fs.rmSync(extractTo, { recursive: true, force: true });
  fs.mkdirSync(extractTo);
  execFileSync('tar', [...args, '-C', extractTo]);
};
// Five timed calls each: gunzip alone varied by a quarter between calls here.
const opts = { iterations: 5, warmupIterations: 1 };

describe(`open a gzip layer (${mb(gz.length)} -> ${mb(plain.length)}, ${ENTRIES} entries, content like /usr/lib: ratio ${ratio})`, () => {
  bench('layerfs TarLayer.from (index, content spilled past 4 MiB, digest and diff_id) [call]', async () => void (await TarLayer.from(gzPath)).close(), opts);
  bench('layerfs TarLayer.from, content: memory (index + content in memory) [call]', async () => void (await TarLayer.from(gzPath, { content: 'memory' })), opts);
  bench('node zlib gunzipSync of the same bytes (the limit) [call]', () => void gunzipSync(gz), opts);
  bench('GNU tar -xzf to a directory [process]', tarExtract(['-xzf', gzPath]), opts);
});

// Whole process against whole process: node's start and the library's load are part of the job.
const OPEN_LAYER = fileURLToPath(new URL('./support/open-layer.mjs', import.meta.url));
const OPEN_IMAGE = fileURLToPath(new URL('./support/open-image.mjs', import.meta.url));
const FLOOR = fileURLToPath(new URL('./support/inflate-hash-floor.mjs', import.meta.url));
const built = fs.existsSync('dist/index.js');
const node = (...args: string[]) => () => void execFileSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
/** Each blob in turn: `zstd -dc` piped to openssl's sha256 (the diff_id), and openssl's sha256 of the blob (the digest). */
const zstdFloor = (blobs: string[]) => () => void execFileSync('sh', ['-c', 'for b; do zstd -dcq "$b" | openssl sha256 >/dev/null && openssl sha256 "$b" >/dev/null || exit; done', 'sh', ...blobs]);
const GZIP_FLOOR_ROW = 'inflate + sha256 on two threads (node bench/support/inflate-hash-floor.mjs gzip: zlib on the thread pool, both digests on the main thread; blobs side by side as openImage opens layers) [process]';

describe.skipIf(!built)(`open the gzip layer (${mb(gz.length)} -> ${mb(plain.length)}), whole process against whole process`, () => {
  bench('layerfs TarLayer.from (node bench/support/open-layer.mjs) [process]', node(OPEN_LAYER, gzPath), opts);
  bench(GZIP_FLOOR_ROW, node(FLOOR, 'gzip', gzPath), opts);
});

describe.skipIf(!built)(`open a zstd layer (${mb(fs.statSync(zstPath).size)} -> ${mb(plain.length)}, the same files, zstd -3), whole process against whole process`, () => {
  bench('layerfs TarLayer.from (node bench/support/open-layer.mjs) [process]', node(OPEN_LAYER, zstPath), opts);
  bench('zstd -dc | openssl sha256, and openssl sha256 of the blob [process]', zstdFloor([zstPath]), opts);
  bench('decode + sha256 in node (node bench/support/inflate-hash-floor.mjs zstd: zstd-napi, both digests, one thread) [process]', node(FLOOR, 'zstd', zstPath), opts);
});

// Whole process against whole process: GNU tar -t reads the headers only (it seeks past the
// content of a regular file), verifies nothing; layerfs's process loads the library, indexes the
// layer and verifies its digest (sha256 of every byte, which no reader that verifies can skip:
// the sha256 process row is that floor).
const LIB = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const SHA256_FILE = "const fs = require('node:fs'), h = require('node:crypto').createHash('sha256'), b = Buffer.allocUnsafe(1 << 20), fd = fs.openSync(process.argv[1]);"
  + ' for (let n, at = 0; (n = fs.readSync(fd, b, 0, b.length, at)) > 0; at += n) h.update(b.subarray(0, n)); h.digest();';
describe(`index an uncompressed layer on disk (${mb(plain.length)}, ${ENTRIES} entries), whole process against whole process`, () => {
  if (!fs.existsSync(LIB)) throw new Error(`${LIB} is missing: npm run build first (npm run bench does)`);
  bench('layerfs: node process opening it with dist/ (TarLayer.from: index, content left on disk, digest verified) [process]', node(OPEN_LAYER, plainPath), opts);
  bench('node process that only loads dist/index.js (its share of the row above) [process]', node(OPEN_LAYER), opts);
  bench('node process: sha256 of the file in 1 MiB reads (the digest alone, what tar -t does not do) [process]', node('-e', SHA256_FILE, plainPath), opts);
  bench('GNU tar -tvf of the same file (whole process) [process]', () => void execFileSync('tar', ['-tvf', plainPath], { stdio: 'ignore' }), opts);
  bench('GNU tar -xf to a directory [process]', tarExtract(['-xf', plainPath]), opts);
});

describe(`index an uncompressed layer on disk (${mb(plain.length)}, ${ENTRIES} entries): the call alone, in this process (no process to compare)`, () => {
  bench('layerfs TarLayer.from (index only, content left on disk; digest) [call]', async () => void (await TarLayer.from(plainPath)), opts);
  // The floor for any reader that verifies the digest: sha256 of every byte, already in memory.
  bench('node crypto sha256 of the same bytes in memory (the digest alone) [call]', () => void createHash('sha256').update(plain).digest(), opts);
});

describe(`stress: a gzip layer of one repeated string (${mb(repetitive.length)} -> ${mb(plain.length)}: gunzip far faster than on real content)`, () => {
  bench('layerfs TarLayer.from (index, content spilled past 4 MiB, digest and diff_id) [call]', async () => void (await TarLayer.from(repetitivePath)).close(), opts);
  bench('node zlib gunzipSync of the same bytes (the limit) [call]', () => void gunzipSync(repetitive), opts);
});

describe(`open the same files as a ${LAYERS}-layer OCI image (${mb(imageBlobs.reduce((s, b) => s + b.length, 0))} gzip; digests and diff_ids verified)`, () => {
  bench('layerfs openImage [call]', async () => void (await openImage(imagePath)).close(), opts);
  bench('node zlib gunzipSync of each layer blob [call]', () => void imageBlobs.forEach((b) => gunzipSync(b)), opts);
});

describe.skipIf(!built)(`open the ${LAYERS}-layer gzip image, whole process against whole process`, () => {
  bench('layerfs openImage (node bench/support/open-image.mjs) [process]', node(OPEN_IMAGE, imagePath), opts);
  bench(GZIP_FLOOR_ROW, node(FLOOR, 'gzip', ...imageBlobPaths), opts);
});

describe.skipIf(!built)(`open the same ${LAYERS} layers as a zstd image (${mb(zstdImageBlobPaths.reduce((s, p) => s + fs.statSync(p).size, 0))} zstd -3), whole process against whole process`, () => {
  bench('layerfs openImage (node bench/support/open-image.mjs) [process]', node(OPEN_IMAGE, zstdImagePath), opts);
  bench('zstd -dc | openssl sha256, and openssl sha256 of the blob, each layer in turn [process]', zstdFloor(zstdImageBlobPaths), opts);
});

describe(`open the bundled image (images/demo, ${demo.layers.length} layers)`, () => {
  bench('layerfs openImage [call]', async () => void (await openImage(DEMO_IMAGE)), { iterations: 20, warmupIterations: 3 });
  bench('node zlib gunzipSync of each layer blob [call]', () => void demoBlobs.forEach((b) => gunzipSync(b)), { iterations: 20, warmupIterations: 3 });
});

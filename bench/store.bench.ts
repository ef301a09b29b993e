/**
 * Verify once and one TarLayer per digest (issue 18; docs/store.md), on the generated
 * Debian-like image (bench/support/debian-like-image.ts: 7 layers, ~337 MiB of tar, ~4,600
 * entries, gzip) ingested into a content store as a pull leaves it:
 *
 * - re-opening the image from the store (each layer from its saved index: nothing hashed or
 *   inflated) against the first open (each layer hashed, inflated into the store's kept tar,
 *   indexed, the index saved), a whole process each, and as a call inside this process. The
 *   target is a re-open under 5% of the first open: "vs layerfs" of the first open at 20 or more.
 * - peak RSS (GNU time's %M) of one process holding 1 image against one holding 10 images that
 *   share 6 of their 7 layers (each has its own 7th layer: the base's last blob with another
 *   gzip header mtime, so another digest and the same tar), all opened from the store.
 *
 * `npm run bench` builds dist/ first (the whole-process rows run the built library).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import { openImage } from '../src/image/image.js';
import { openContentStore } from '../src/store/directory-store.js';
import { debianLikeImage } from './support/debian-like-image.js';

const OPEN = fileURLToPath(new URL('./support/open-image.mjs', import.meta.url));
const OPEN_MANY = fileURLToPath(new URL('./support/open-images.mjs', import.meta.url));
const LIB = fileURLToPath(new URL('../dist/index.js', import.meta.url));
if (!fs.existsSync(LIB)) throw new Error('dist/ is missing: npm run build first (npm run bench does)');

const image = await debianLikeImage();
const root = fs.mkdtempSync(join(tmpdir(), 'lfs-bench-store-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const storeDir = join(root, 'store');
const store = await openContentStore(storeDir);

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blobOf = (layout: string, digest: string) => fs.readFileSync(join(layout, 'blobs', ...digest.split(':')));
interface Desc { mediaType: string; digest: string; size: number }
const index = JSON.parse(fs.readFileSync(join(image.gzip, 'index.json'), 'utf8')) as { manifests: Desc[] };
const manifest = JSON.parse(blobOf(image.gzip, index.manifests[0]!.digest).toString()) as { config: Desc; layers: Desc[] };
const config = JSON.parse(blobOf(image.gzip, manifest.config.digest).toString()) as Record<string, unknown>;
const put = async (data: Buffer, mediaType: string): Promise<Desc> => {
  const desc = { mediaType, digest: sha256(data), size: data.length };
  await store.ingest(desc, (async function* () {
    yield data;
  })());
  return desc;
};
const base = manifest.layers.slice(0, 6);
for (const d of base) await put(blobOf(image.gzip, d.digest), d.mediaType);
const last = blobOf(image.gzip, manifest.layers[6]!.digest);
const REFS = Array.from({ length: 10 }, (_, i) => `img${i}`);
for (const [i, ref] of REFS.entries()) {
  // The same gzip stream with another MTIME in its header (RFC 1952 2.3.1, not covered by the CRC): another digest, the same tar.
  const own = Buffer.from(last);
  own.writeUInt32LE(1_700_000_000 + i, 4);
  const top = await put(own, manifest.layers[6]!.mediaType);
  const cfg = await put(Buffer.from(JSON.stringify({ ...config, created: `2026-01-0${i % 9 + 1}T00:00:00Z` })), manifest.config.mediaType);
  const m = await put(Buffer.from(JSON.stringify({ ...manifest, config: cfg, layers: [...base, top] })), index.manifests[0]!.mediaType);
  await store.tag(ref, m);
}

/** Removes every saved index and kept tar: the next open of the store is a first open. */
const forget = () => {
  for (const d of ['index', 'tars']) fs.rmSync(join(storeDir, '.layerfs', d), { recursive: true, force: true });
};
const run = (args: string[]) => execFileSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });

function peakRss(args: string[]): { peakRssBytes: number; layers: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return { peakRssBytes: Number(r.stderr.trim().split('\n').pop()) * 1024, layers: r.stdout.trim() ? (JSON.parse(r.stdout) as { layers: number }).layers : 0 };
}

// Memory: the store warmed (every index saved), then one process per row, untimed.
run([OPEN_MANY, storeDir, ...REFS]);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const one = peakRss([OPEN_MANY, storeDir, REFS[0]!]);
const ten = peakRss([OPEN_MANY, storeDir, ...REFS]);
const bare = peakRss(['-e', '0']);

// Heap per entry held by an open image, each in a fresh process (less one that only loads the
// library): the layout opened as always, the store's first open, the re-open from the index.
const held = (args: string[]) => JSON.parse(run(['--expose-gc', OPEN_MANY, ...args]).toString()) as { entries: number; heldBytes: number };
const bareHeld = held([storeDir]).heldBytes;
const perEntry = (r: { entries: number; heldBytes: number }) => Math.round((r.heldBytes - bareHeld) / r.entries);
const layoutPerEntry = perEntry(held([image.gzip, 'latest']));
const plainPerEntry = perEntry(held([image.plain, 'latest']));
forget();
const firstPerEntry = perEntry(held([storeDir, REFS[0]!]));
const reopenPerEntry = perEntry(held([storeDir, REFS[0]!]));

const report = {
  image: { layers: 7, tarBytes: image.tarBytes, entries: image.entries },
  peakRss: {
    oneImage: one.peakRssBytes, tenImages: ten.peakRssBytes, nodeAlone: bare.peakRssBytes,
    layerObjects: { oneImage: one.layers, tenImages: ten.layers },
  },
  heapBytesPerEntry: { layoutOpen: layoutPerEntry, plainLayoutOpen: plainPerEntry, storeFirstOpen: firstPerEntry, storeReopen: reopenPerEntry },
};
console.log(`store bench: peak RSS 1 image ${mib(one.peakRssBytes)} (${one.layers} layers), 10 images sharing 6 of 7 layers ${mib(ten.peakRssBytes)} (${ten.layers} layers), node -e 0 ${mib(bare.peakRssBytes)}; heap per entry: gzip layout open ${layoutPerEntry} B (its first 4 MiB of content per layer in memory), plain layout open ${plainPerEntry} B (content on disk), store first open ${firstPerEntry} B, re-open ${reopenPerEntry} B`);
fs.writeFileSync('bench/store-memory.json', JSON.stringify(report, null, 2));

const shape = `7 layers, ${(image.tarBytes / 2 ** 20).toFixed(0)} MiB of tar, ${image.entries.toLocaleString('en')} entries, gzip`;
const opens = { iterations: 5, warmupIterations: 1 };

describe(`open the Debian-like image from a content store (${shape}): re-open from the saved indexes against the first open, whole process against whole process (target: re-open under 5% of the first, "vs layerfs" 20 or more)`, () => {
  bench('layerfs openImage STORE, re-open: every layer from its saved index (node bench/support/open-image.mjs) [process]', () => void run([OPEN, storeDir, '{"ref":"img0"}']), { ...opens, setup: () => void run([OPEN, storeDir, '{"ref":"img0"}']) });
  bench('layerfs openImage STORE, first open: every layer hashed, inflated into the store, indexed and saved (the indexes removed before each run) [process]', () => {
    forget();
    run([OPEN, storeDir, '{"ref":"img0"}']);
  }, opens);
  bench('layerfs openImage LAYOUT: the same image as a plain gzip layout, no store (what the first open costs without it) [process]', () => void run([OPEN, image.gzip]), opens);
  bench('node importing dist/index.js and opening nothing (the floor of any layerfs process) [process]', () => void run(['--input-type=module', '-e', `await import(${JSON.stringify(LIB)})`]), opens);
  bench('node -e 0 (a process that does nothing) [process]', () => void run(['-e', '0']), opens);
});

describe(`open the Debian-like image from a content store (${shape}): re-open against first open, a call inside this process (each image closed after)`, () => {
  bench('layerfs openImage(STORE), re-open from the saved indexes [call]', async () => (await openImage(storeDir, { ref: 'img0' })).close(), { ...opens, setup: async () => (await openImage(storeDir, { ref: 'img0' })).close() });
  bench('layerfs openImage(STORE), first open (the indexes removed before each call) [call]', async () => {
    forget();
    (await openImage(storeDir, { ref: 'img0' })).close();
  }, opens);
});

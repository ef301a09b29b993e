/**
 * Materialising a large image: the CLI's `export --dir` against `umoci unpack` of the same OCI
 * layout, in the same run, whole process against whole process; the exportDir and exportTar
 * calls alone in a table of their own. The image: 4 generated gzip layers, 20,000 files, ~150 MiB
 * uncompressed, with overwrites and deletions between layers. And a layer of 200,000 empty
 * files (issue 13), against GNU `tar -x` of the same tar, like for like: whole process against
 * whole process (the CLI, `node dist/cli/main.js export --dir`, which `npm run bench` builds
 * first, opens and indexes the layer as tar reads it). The exportDir call alone, on the image
 * opened beforehand, is its own table: a call is not comparable with a process. `npm run bench`.
 *
 * Both write to tmpfs (/dev/shm when there is one, as the umoci figure was taken): on
 * a disk, page-cache writeback throttling made runs of the same export vary from 0.3 s to
 * 2.4 s. Removing the output is not timed: each run's directory is moved aside (a rename) and
 * deleted when the process ends.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import { collectStream, MemoryLayer, openImage, type LayerJSON } from '../src/index.js';
import { layerToTar } from '../test/support/to-tar.js';
import { writeOciLayout } from '../test/support/oci-layout.js';
import { benchOutputs } from './support/outputs.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-bench-export-'));
const { fresh, name, discard, emptyTrash } = benchOutputs('lfs-bench-export-out-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true })); // vitest ends bench workers without 'exit'
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first (npm run bench does)`);
const layout = join(dir, 'image');
const FILES = 5_000;
const tars: Buffer[] = [];
for (let l = 0; l < 4; l++) {
  const json: LayerJSON = {};
  for (let i = 0; i < FILES; i++) json[`/usr/lib/l${l}/d${i % 100}/f${i}`] = `layer ${l} file ${i}; `.repeat(400);
  if (l > 0) for (let i = 0; i < 200; i++) json[`/usr/lib/l${l - 1}/d${i % 100}/.wh.f${i}`] = '';
  tars.push(gzipSync(await layerToTar(MemoryLayer.fromJSON(json, `L${l}`))));
}
writeOciLayout(layout, tars, 'application/vnd.oci.image.layer.v1.tar+gzip');
const image = await openImage(layout);
const ov = image.overlay();
const total = image.layers.reduce((s, l) => s + l.layer.info.size, 0);

const opts = { iterations: 3, warmupIterations: 1, teardown: emptyTrash };

describe(`materialise ${image.layers.length} layers, ${(total / 2 ** 20).toFixed(0)} MiB uncompressed, whole process against whole process`, () => {
  bench('layerfs export --dir (node dist/cli/main.js: opens and verifies the layout, writes) [process]', () => {
    const d = fresh();
    execFileSync(process.execPath, [CLI, 'export', layout, '--dir', d], { stdio: 'pipe' });
    discard(d);
  }, opts);
  bench('umoci unpack [process]', () => {
    const d = name('bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, d], { stdio: 'pipe' });
    discard(d);
  }, opts);
});

describe(`materialise the same ${image.layers.length} layers: the calls alone (image opened before; calls, no peer)`, () => {
  bench('layerfs exportDir [call]', () => {
    const d = fresh();
    ov.exportDir(d);
    discard(d);
  }, opts);
  bench('layerfs exportTar (to memory) [call]', async () => void (await collectStream(ov.exportTar().stream)), opts);
});

// 200,000 empty files in 200 directories, one plain tar layer: what exportDir spends on each
// entry (create, owner, mode, times), with no content to copy.
const EMPTY = 200_000;
const emptyJson: LayerJSON = {};
for (let i = 0; i < EMPTY; i++) emptyJson[`/d${i % 200}/f${i}`] = '';
const emptyTar = join(dir, 'empty.tar');
fs.writeFileSync(emptyTar, await layerToTar(MemoryLayer.fromJSON(emptyJson, 'empty')));
const emptyLayout = join(dir, 'empty-image');
writeOciLayout(emptyLayout, [fs.readFileSync(emptyTar)]);
const emptyOv = (await openImage(emptyLayout)).overlay();

describe(`materialise ${EMPTY.toLocaleString('en')} empty files (one plain tar layer), whole process against whole process`, () => {
  bench('layerfs export --dir (node dist/cli/main.js: opens the layout, indexes the layer, writes) [process]', () => {
    const d = fresh();
    execFileSync(process.execPath, [CLI, 'export', emptyLayout, '--dir', d], { stdio: 'pipe' });
    discard(d);
  }, opts);
  bench('GNU tar -x (reads the same tar, writes) [process]', () => {
    const d = fresh();
    execFileSync('tar', ['-xf', emptyTar, '-C', d], { stdio: 'pipe' });
    discard(d);
  }, opts);
});

describe(`the exportDir call alone on the same ${EMPTY.toLocaleString('en')} empty files (image opened before; a call, no peer)`, () => {
  bench('layerfs exportDir (the call) [call]', () => {
    const d = fresh();
    emptyOv.exportDir(d);
    discard(d);
  }, opts);
});

/**
 * `layerfs inspect` as users run it, whole process against whole process (issue 17, "Cold
 * CLI"): `node dist/cli/main.js inspect DIR` (built by `npm run bench`), which reads the
 * manifest and config only, against `skopeo inspect oci:DIR`, which does the same, on a
 * generated OCI layout of several large gzip layers. `inspect --changes` counts each layer's
 * entries, so it opens and indexes every layer: what every `inspect` did before it read the
 * manifest only, in the same run for comparison.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { afterAll, bench, describe } from 'vitest';
import { writeOciLayout } from '../test/support/oci-layout.js';
import { contentPool, slicer } from './support/layer-content.js';

const LAYERS = 4;
const FILES_PER_LAYER = 2_000;
const BYTES_PER_LAYER = 32 * 2 ** 20;
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-bench-inspect-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true })); // vitest ends bench workers without 'exit'

/** A gzip layer of FILES_PER_LAYER files of content that compresses like /usr/lib. */
async function layer(l: number, body: (length: number) => Buffer): Promise<Buffer> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (let i = 0; i < FILES_PER_LAYER; i++) p.entry({ name: `usr/lib/l${l}/d${i % 50}/f${i}.so`, mode: 0o644 }, body(Math.floor(BYTES_PER_LAYER / FILES_PER_LAYER)));
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks), { level: 6 });
}

const slice = slicer(contentPool(4 * 2 ** 20));
const blobs: Buffer[] = [];
for (let l = 0; l < LAYERS; l++) blobs.push(await layer(l, slice));
const image = join(dir, 'image');
writeOciLayout(image, blobs, 'application/vnd.oci.image.layer.v1.tar+gzip');
const stored = blobs.reduce((n, b) => n + b.length, 0);

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first (npm run bench does)`);
const run = (file: string, args: string[]) => void execFileSync(file, args, { stdio: 'pipe' });

describe(`inspect an image of ${LAYERS} gzip layers (${(stored / 2 ** 20).toFixed(0)} MiB stored, ${(LAYERS * BYTES_PER_LAYER / 2 ** 20).toFixed(0)} MiB of files), whole process against whole process`, () => {
  bench('layerfs inspect (node dist/cli/main.js: manifest and config only) [process]', () => run(process.execPath, [CLI, 'inspect', image]), { iterations: 10, warmupIterations: 2 });
  bench('skopeo inspect oci:DIR [process]', () => run('skopeo', ['inspect', `oci:${image}`]), { iterations: 10, warmupIterations: 2 });
  bench('layerfs inspect --changes (opens and indexes every layer, as inspect did before) [process]', () => run(process.execPath, [CLI, 'inspect', image, '--changes']), { iterations: 3, warmupIterations: 1 });
  bench('node -e 0 (the floor of any node process) [process]', () => run(process.execPath, ['-e', '0']), { iterations: 10, warmupIterations: 2 });
});

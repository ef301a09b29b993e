/**
 * Pull from the local reference registry (Debian's docker-registry, distribution 2.8.2, on
 * 127.0.0.1), whole process against whole process (issue 18): `layerfs pull REF --store DIR`
 * (node dist/cli/main.js: resolves the tag, fetches the config and layers 3 at once, each
 * hashed while it is written, renames it into place, tags index.json) into an empty store,
 * against `skopeo copy docker://REF oci:DIR` into an empty layout, for the bundled demo image and
 * for the generated Debian-like image (7 gzip layers; bench/support/debian-like-image.ts).
 *
 * Then, untimed, a second image sharing the Debian-like image's 7 layers (one layer added,
 * test/registry/support/second-image.ts) is pulled into the store that holds the first, through
 * a proxy that counts the bytes the registry served: printed against the sizes of its new blobs.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import { startCountingProxy } from '../test/registry/support/counting-proxy.js';
import { skopeoPush, startRegistry } from '../test/registry/support/reference-registry.js';
import { writeSecondImage } from '../test/registry/support/second-image.js';
import { debianLikeImage } from './support/debian-like-image.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first (npm run bench does)`);
const DEMO = fileURLToPath(new URL('../images/demo', import.meta.url));
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-bench-pull-'));
const registry = await startRegistry();
const stopAll = async () => {
  await registry.stop();
  fs.rmSync(dir, { recursive: true, force: true });
};
afterAll(stopAll);
/** A failure while the file is collected runs no afterAll: the registry is stopped first. */
const orStop = <T>(p: Promise<T>): Promise<T> => p.catch(async (e: unknown) => {
  await stopAll();
  throw e;
});

const { debian, second } = await orStop((async () => {
  const debian = await debianLikeImage();
  await skopeoPush(`${DEMO}:latest`, registry, 'demo:latest');
  await skopeoPush(`${debian.gzip}:latest`, registry, 'debian:latest');
  const second = await writeSecondImage(debian.gzip, fs.mkdtempSync(join(dir, 'second-')));
  await skopeoPush(`${second.layout}:v2`, registry, 'debian:v2');
  return { debian, second };
})());

const out = join(dir, 'out');
const trash = join(dir, 'trash');
fs.mkdirSync(trash);
let runs = 0;
/**
 * Each run starts from no target: the last run's is renamed aside (one rename(2), the same for
 * both rows) and removed after the bench. vitest does not hand tinybench's per-iteration
 * beforeEach to its tasks, so this is the first step of the timed function.
 */
const emptyTarget = () => fs.existsSync(out) && fs.renameSync(out, join(trash, String(runs++)));
const opts = { iterations: 5, warmupIterations: 1 };
const layerfsPull = (ref: string) => () => {
  emptyTarget();
  execFileSync(process.execPath, [CLI, 'pull', `${registry.host}/${ref}`, '--store', out, '--quiet'], { stdio: 'pipe' });
};
const skopeoCopy = (ref: string) => () => {
  emptyTarget();
  execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/${ref}`, `oci:${out}:latest`], { stdio: 'pipe' });
};
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const blobBytes = (layout: string) => fs.readdirSync(join(layout, 'blobs/sha256')).reduce((n, f) => n + fs.statSync(join(layout, 'blobs/sha256', f)).size, 0);

describe(`pull the bundled demo image (${mib(blobBytes(DEMO))}, 4 layers) from the local registry into an empty store, whole process against whole process`, () => {
  bench('layerfs pull (node dist/cli/main.js, --store DIR) [process]', layerfsPull('demo:latest'), opts);
  bench('skopeo copy docker://… oci:DIR [process]', skopeoCopy('demo:latest'), opts);
});

describe(`pull the Debian-like image (${mib(blobBytes(debian.gzip))}, 7 gzip layers) from the local registry into an empty store, whole process against whole process`, () => {
  bench('layerfs pull (node dist/cli/main.js, --store DIR) [process]', layerfsPull('debian:latest'), opts);
  bench('skopeo copy docker://… oci:DIR [process]', skopeoCopy('debian:latest'), opts);
});

// A second image sharing the base: the bytes on the wire, counted by a proxy (untimed).
await orStop((async () => {
  const proxy = await startCountingProxy(registry.host);
  try {
    const store = join(dir, 'shared-store');
    execFileSync(process.execPath, [CLI, 'pull', `${registry.host}/debian:latest`, '--store', store, '--quiet'], { stdio: 'pipe' });
    // Asynchronously: the proxy runs in this process, and a blocked event loop would not serve it.
    const summary = JSON.parse((await promisify(execFile)(process.execPath, [CLI, 'pull', `${proxy.host}/debian:v2`, '--store', store, '--json'], { encoding: 'utf8' })).stdout);
    const served = proxy.log.filter((r) => r.path.includes('/blobs/')).reduce((n, r) => n + r.bytes, 0);
    const manifests = proxy.log.filter((r) => r.path.includes('/manifests/')).reduce((n, r) => n + r.bytes, 0);
    const newBlobs = summary.fetched.reduce((n: number, b: { size: number }) => n + b.size, 0);
    const all = [summary.config, ...summary.layers].reduce((n: number, b: { size: number }) => n + b.size, 0);
    console.log(
      `second image sharing the base (${summary.layers.length} layers, ${mib(all)} of blobs): the registry served ${served} bytes of blobs (+ ${manifests} of manifest) for ${summary.fetched.length} new blobs of ${newBlobs} bytes (the new layer ${second.newLayer.slice(7, 19)} and the config); ${summary.present.length} blobs already in the store, not asked for`,
    );
    if (served !== newBlobs) throw new Error(`the second pull fetched ${served} bytes of blobs, not only its new blobs' ${newBlobs}`);
  } finally {
    // A failed pull above still closes the proxy (its server would keep the process alive).
    await proxy.close();
  }
})());

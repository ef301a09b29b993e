/**
 * Whole jobs as users run them, on a generated Debian-like image (bench/support/
 * debian-like-image.ts: 7 layers, ~337 MiB of tar, ~4,600 entries, devices, a fifo, xattrs,
 * hard links, setuid files, whiteouts), each a whole process against the peer's whole process
 * in the same run (issue 17): materialising the rootfs against `umoci unpack` and GNU `tar -x`
 * of the same layers; opening the image (every layer indexed, digests and diff_ids verified)
 * against the floor of its compression: inflate plus sha256 on two threads for gzip, `zstd -d`
 * plus `openssl sha256` for zstd, GNU `tar -tvf` for plain tars. Peak RSS of each job (VmHWM) is written
 * to bench/whole-job-memory.json for the report. `npm run bench` builds dist/ first.
 *
 * Outputs go to tmpfs (/dev/shm when there is one): on a disk, writeback throttling makes runs
 * of the same export vary severalfold. Removing an output is not timed (moved aside, deleted
 * after each implementation's runs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import { debianLikeImage } from './support/debian-like-image.js';
import { benchOutputs } from './support/outputs.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first (npm run bench does)`);
const OPEN = fileURLToPath(new URL('./support/open-image.mjs', import.meta.url));
const FLOOR = fileURLToPath(new URL('./support/inflate-hash-floor.mjs', import.meta.url));

const image = await debianLikeImage();
const { fresh, discard, emptyTrash } = benchOutputs('lfs-bench-whole-');

type Command = [file: string, args: string[]];
/** `sh -c script` with `args` as $1...: the peers that are several processes in a row. */
const sh = (script: string, args: string[]): Command => ['sh', ['-c', script, 'sh', ...args]];
const run = ([file, args]: Command) => void execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 });

/** Each job as the command that runs it (`d`: a fresh output directory, for the jobs that write one). */
const jobs = {
  exportDir: (d: string): Command => [process.execPath, [CLI, 'export', image.gzip, '--dir', d]],
  umoci: (d: string): Command => ['umoci', ['unpack', '--image', `${image.gzip}:latest`, join(d, 'bundle')]],
  // Each layer over the last, in order, as root: owners, modes, xattrs, devices; whiteout
  // files are written as files (tar does not know them).
  tarX: (d: string) => sh('d=$1; shift; for t; do tar -xzpf "$t" -C "$d" --xattrs --xattrs-include="*" || exit; done', [d, ...image.gzipBlobs]),
  openGzip: (): Command => [process.execPath, [OPEN, image.gzip]],
  gzipFloor: (): Command => [process.execPath, [FLOOR, 'gzip', ...image.gzipBlobs]],
  lsGzip: (): Command => [process.execPath, [CLI, 'ls', image.gzip, '/']],
  openZstd: (): Command => [process.execPath, [OPEN, image.zstd]],
  // openssl, not coreutils' sha256sum: sha256sum 9.1 does not use the CPU's SHA instructions.
  zstdFloor: () => sh('for b; do openssl sha256 "$b" >/dev/null && zstd -dcq "$b" | openssl sha256 >/dev/null || exit; done', image.zstdBlobs),
  openPlain: (): Command => [process.execPath, [OPEN, image.plain]],
  tarT: () => sh('for t; do tar -tvf "$t" >/dev/null || exit; done', image.tars),
};

/** Runs a job that writes into a fresh directory, and moves the output aside. */
const writing = (job: (d: string) => Command) => () => {
  const d = fresh();
  run(job(d));
  discard(d);
};

/**
 * Peak RSS of one untimed run of `cmd`, in bytes: GNU time's %M, the largest resident set of
 * the process it ran (for `sh`, of the largest process in the pipeline that sh waited for, as
 * getrusage(RUSAGE_CHILDREN) gives it).
 */
function peakRss([file, args]: Command): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', file, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return Number(r.stderr.trim().split('\n').pop()) * 1024;
}
const measured = (job: (d: string) => Command) => {
  const d = fresh();
  try {
    return peakRss(job(d));
  } finally {
    discard(d);
    emptyTrash();
  }
};
fs.writeFileSync('bench/whole-job-memory.json', JSON.stringify({
  image: { layers: image.tars.length, tarBytes: image.tarBytes, entries: image.entries },
  rows: [
    ['layerfs export IMG --dir (gzip)', measured(jobs.exportDir)],
    ['umoci unpack (gzip)', measured(jobs.umoci)],
    ['layerfs openImage, gzip', measured(jobs.openGzip)],
    ['layerfs ls IMG / (gzip: index only, content kept nowhere)', measured(jobs.lsGzip)],
    ['layerfs openImage, zstd', measured(jobs.openZstd)],
    ['layerfs openImage, plain tar', measured(jobs.openPlain)],
    ['node -e 0 (any node process)', peakRss([process.execPath, ['-e', '0']])],
  ],
}, null, 2));

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const shape = `${image.tars.length} layers, ${mib(image.tarBytes)} of tar, ${image.entries.toLocaleString('en')} entries`;
const slow = { iterations: 3, warmupIterations: 1, teardown: emptyTrash };
const opens = { iterations: 5, warmupIterations: 1 };

describe(`materialise the Debian-like image (${shape}, gzip) to tmpfs, whole process against whole process`, () => {
  bench('layerfs export IMG --dir [process]', writing(jobs.exportDir), slow);
  bench('umoci unpack [process]', writing(jobs.umoci), slow);
  bench('GNU tar -xzp --xattrs of each layer in turn, no whiteout handling [process]', writing(jobs.tarX), slow);
});

describe(`open the Debian-like image, gzip (${shape}; digests and diff_ids verified), whole process against whole process`, () => {
  bench('layerfs openImage (node bench/support/open-image.mjs) [process]', () => run(jobs.openGzip()), opens);
  bench('layerfs ls IMG / (node dist/cli/main.js: the layers indexed and verified, no content kept) [process]', () => run(jobs.lsGzip()), opens);
  bench('inflate + sha256 on two threads (node bench/support/inflate-hash-floor.mjs gzip: zlib on the thread pool, both digests on the main thread, blobs side by side as openImage opens layers) [process]', () => run(jobs.gzipFloor()), opens);
});

describe(`open the Debian-like image, zstd (${shape}; digests and diff_ids verified), whole process against whole process`, () => {
  bench('layerfs openImage (node bench/support/open-image.mjs) [process]', () => run(jobs.openZstd()), opens);
  bench('zstd -dc | openssl sha256, and openssl sha256 of the blob, each layer in turn [process]', () => run(jobs.zstdFloor()), opens);
});

describe(`open the Debian-like image, plain tar (${shape}; digests verified), whole process against whole process`, () => {
  bench('layerfs openImage (node bench/support/open-image.mjs) [process]', () => run(jobs.openPlain()), opens);
  bench('GNU tar -tvf of each layer (reads headers only, no digest) [process]', () => run(jobs.tarT()), opens);
});

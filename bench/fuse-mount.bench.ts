/**
 * Through a mount, like for like: layerfs's FUSE mount (bench/support/serve-mount.mjs: the
 * built library's mountOverlay, what `layerfs mount` serves, over DirectoryLayers of the lower
 * directories) against the kernel's `mount -t overlay` and fuse-overlayfs over the same three
 * lower directories on disk, each with its own empty upper. Every system call is made by one
 * long-lived child process (bench/support/mount-client.mjs: node's synchronous fs, answering
 * on a pipe), so no process start is timed; `tar -c` is a whole process per run. The lower
 * directory itself (no overlay) is the floor where there is one. Needs root, /dev/fuse, the
 * FUSE binding, fuse-overlayfs (Debian package) and dist/ (`npm run bench` builds it); a
 * missing one fails the file, naming it. `npm run bench`, or after `npm run build`:
 * `npx vitest bench --run bench/fuse-mount.bench.ts`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import { fuseAvailable } from '../src/mount/fuse-binding.js';
import { isMountpoint } from '../src/mount/mount-table.js';
import { contentPool, slicer } from './support/layer-content.js';

const SERVE = fileURLToPath(new URL('./support/serve-mount.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('./support/mount-client.mjs', import.meta.url));
const need = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`bench/fuse-mount.bench.ts cannot run: ${what}`);
};
const has = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
need(fs.existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url))), 'dist/ is missing (npm run build; npm run bench does it)');
need(process.getuid?.() === 0, 'it mounts overlays: run it as root');
need(fs.existsSync('/dev/fuse') && fuseAvailable().ok, `no FUSE here (${fuseAvailable().why || 'no /dev/fuse'})`);
need(has('fuse-overlayfs', ['--version']), 'fuse-overlayfs is not installed (Debian: fuse-overlayfs; test/setup/debian-deps.sh installs it)');
const FOV = `fuse-overlayfs ${/fuse-overlayfs: version (\S+)/.exec(execFileSync('fuse-overlayfs', ['--version'], { encoding: 'utf8', stdio: 'pipe' }))?.[1] ?? '(version unknown)'}`;

// The three lower directories, in the kernel's format (whiteouts as 0/0 character devices).
const SMALL_FILES = 3000;
const SMALL_SIZE = 4096;
const MERGED = 1000;
const WHITEOUTS = 50;
const COPIES = 40;
const BIG = 32 * 2 ** 20;
const base = fs.mkdtempSync(join(tmpdir(), 'lfs-bench-fuse-'));
const lowers = ['l0', 'l1', 'l2'].map((n) => join(base, n));
const slice = slicer(contentPool(4 * 2 ** 20));
const put = (dir: string, path: string, data: Buffer) => {
  fs.mkdirSync(join(dir, path, '..'), { recursive: true });
  fs.writeFileSync(join(dir, path), data);
};
for (let i = 0; i < SMALL_FILES; i++) put(lowers[i % 3]!, `usr/lib/d${i % 20}/f${i}.so`, slice(SMALL_SIZE));
for (let i = 0; i < MERGED; i++) put(lowers[i < 400 ? 0 : i < 700 ? 1 : 2]!, `usr/share/merged/n${i}`, slice(100));
put(lowers[0]!, 'big/large.bin', Buffer.concat(Array.from({ length: BIG / 2 ** 20 }, () => slice(2 ** 20))));
for (let i = 0; i < COPIES; i++) put(lowers[0]!, `copy/c${i}.bin`, slice(2 ** 20));
put(lowers[2]!, 'etc/app.conf', Buffer.from('key = value\n'));
execFileSync('python3', ['-c', 'import os, sys\nfor p in sys.argv[1:]: os.mknod(p, 0o020000, 0)', ...Array.from({ length: WHITEOUTS }, (_, i) => join(lowers[2]!, `usr/share/merged/n${i}`))]);
const TREE_BYTES = SMALL_FILES * SMALL_SIZE + MERGED * 100 + BIG + COPIES * 2 ** 20;

const mnt = (name: string) => {
  const d = join(base, name);
  for (const sub of ['m', 'u', 'w']) fs.mkdirSync(join(d, sub), { recursive: true });
  return { m: join(d, 'm'), u: join(d, 'u'), w: join(d, 'w') };
};
const lowerdir = [...lowers].reverse().join(':'); // the kernel's order: top first
/** Each mount made, detached at the end (or at once, if a later one fails: no mount is left behind). */
const detach: Array<() => void> = [];
const detachAll = () => {
  for (const d of detach.splice(0).reverse()) d();
  fs.rmSync(base, { recursive: true, force: true });
};
const mounted = (m: string, how: string[], cmd: string, args: string[]) => {
  execFileSync(cmd, args, { stdio: 'pipe' });
  detach.push(() => void (isMountpoint(m) && execFileSync(how[0]!, [...how.slice(1), m])));
};
const kernel = mnt('kernel');
// fuse-overlayfs goes to the background once mounted. Its default lets the kernel cache
// entries and attributes (timeout=1000000000); with timeout=0 every call is a round trip to it,
// as it is to layerfs (docs/mount.md: attr_timeout=0, entry_timeout=0), which isolates the cost
// of a round trip to a C daemon from that of a cache.
const fov = mnt('fuse-overlayfs');
const fov0 = mnt('fuse-overlayfs-timeout-0');
const lfs = mnt('layerfs');
let daemon: ChildProcess | undefined;
try {
  mounted(kernel.m, ['umount'], 'mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir},upperdir=${kernel.u},workdir=${kernel.w}`, kernel.m]);
  mounted(fov.m, ['fusermount3', '-u'], 'fuse-overlayfs', ['-o', `lowerdir=${lowerdir},upperdir=${fov.u},workdir=${fov.w}`, fov.m]);
  mounted(fov0.m, ['fusermount3', '-u'], 'fuse-overlayfs', ['-o', `lowerdir=${lowerdir},upperdir=${fov0.u},workdir=${fov0.w},timeout=0`, fov0.m]);
  const d = spawn(process.execPath, [SERVE, lfs.m, ...lowers], { stdio: ['ignore', 'pipe', 'inherit'] });
  daemon = d;
  detach.push(() => void (isMountpoint(lfs.m) && execFileSync('fusermount3', ['-uz', lfs.m])));
  await new Promise<void>((resolve, reject) => {
    d.stdout!.on('data', (c: Buffer) => String(c).includes('ready') && resolve());
    d.on('exit', (code) => reject(new Error(`serve-mount.mjs ended (${code}) before serving`)));
  });
} catch (e) {
  daemon?.kill('SIGKILL');
  detachAll();
  throw e;
}
const floor = lowers[0]!; // the bottom lower directory alone, for the rows that have a floor

/** The child that makes the system calls, and one request to it at a time. */
const client: ChildProcess = spawn(process.execPath, [CLIENT], { stdio: ['pipe', 'pipe', 'inherit'] });
let pending: ((line: string) => void) | undefined;
let buffered = '';
client.stdout!.on('data', (c: Buffer) => {
  buffered += c;
  for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    pending?.(line);
  }
});
const ask = (req: object) => new Promise<unknown>((resolve, reject) => {
  pending = (line) => {
    const r = JSON.parse(line) as { ok: boolean; value?: unknown; error?: string };
    if (r.ok) resolve(r.value);
    else reject(new Error(`${JSON.stringify(req)}: ${r.error}`));
  };
  client.stdin!.write(`${JSON.stringify(req)}\n`);
});

afterAll(async () => {
  client.kill();
  const d = daemon!;
  if (d.exitCode === null) await new Promise((r) => d.on('exit', r).kill('SIGTERM'));
  detachAll();
});

const SIDES: Array<[string, string]> = [
  ['layerfs FUSE mount (DirectoryLayers of the lower dirs, in-memory upper)', lfs.m],
  ['kernel overlay (mount -t overlay)', kernel.m],
  [FOV, fov.m],
  [`${FOV}, -o timeout=0 (no kernel cache: a round trip per call, as layerfs)`, fov0.m],
];
const WITH_FLOOR: Array<[string, string]> = [...SIDES, ['the bottom lower directory itself, no overlay (the floor)', floor]];
const opts = { iterations: 10, warmupIterations: 2, time: 0, warmupTime: 0 };
const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

const STATS = 2000;
describe(`warm lstat of a file in a merged directory (${STATS.toLocaleString('en')} lstat calls per run, in one child process)`, () => {
  for (const [name, root] of WITH_FLOOR) {
    const path = join(root, root === floor ? 'usr/share/merged/n100' : 'usr/share/merged/n800');
    bench(`${name} [call]`, async () => void (await ask({ op: 'lstat', path, n: STATS })), opts);
  }
});

const READDIRS = 20;
describe(`readdir of a merged directory (${MERGED - WHITEOUTS} names from 3 layers, ${WHITEOUTS} whiteouts; ${READDIRS} readdir calls per run, in one child process)`, () => {
  for (const [name, root] of SIDES) bench(`${name} [call]`, async () => void (await ask({ op: 'readdir', path: join(root, 'usr/share/merged'), n: READDIRS })), opts);
  bench(`the bottom lower directory's own (400 names, the floor) [call]`, async () => void (await ask({ op: 'readdir', path: join(floor, 'usr/share/merged'), n: READDIRS })), opts);
});

describe(`sequential read of a ${mib(BIG)} lower file (open, 128 KiB reads, close; in one child process)`, () => {
  for (const [name, root] of WITH_FLOOR) {
    bench(`${name} [call]`, async () => {
      const n = await ask({ op: 'read', path: join(root, 'big/large.bin') });
      if (n !== BIG) throw new Error(`read ${String(n)} bytes of ${BIG}`);
    }, opts);
  }
});

describe(`copy-up of a 1 MiB lower file (append one byte to a file not yet copied up; in one child process)`, () => {
  for (const [name, root] of SIDES) {
    let next = 0;
    bench(`${name} [call]`, async () => {
      if (next === COPIES) throw new Error(`only ${COPIES} lower files to copy up: fewer iterations`);
      await ask({ op: 'append', path: join(root, `copy/c${next++}.bin`) });
    }, opts);
  }
});

// GNU tar reads nothing when its output is /dev/null: it writes to a pipe that cat empties.
const tarC = (root: string) => () => void execFileSync('sh', ['-c', 'tar -C "$1" -cf - . | cat > /dev/null', 'sh', root]);
describe(`tar -c of the whole merged tree (${(SMALL_FILES + MERGED - WHITEOUTS + COPIES + 2).toLocaleString('en')} files, about ${mib(TREE_BYTES)}; GNU tar to a pipe)`, () => {
  for (const [name, root] of SIDES) bench(`${name} [process]`, tarC(root), { iterations: 4, warmupIterations: 1, time: 0, warmupTime: 0 });
});

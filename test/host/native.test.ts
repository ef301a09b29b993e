import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratch } from '../support/scratch.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = join(REPO, 'native/host_calls.c');
const ADDON = join(REPO, 'native/build/Release/layerfs_host.node');
const isRoot = process.getuid?.() === 0;
const { fresh } = scratch('lfs-native-');

/** Builds native/host_calls.c with `defines` (cc, Node's headers) into a scratch .node file. */
function buildAddon(defines: string[]): string {
  const out = join(fresh('addon'), 'layerfs_host.node');
  execFileSync('cc', ['-shared', '-fPIC', '-O1', '-I/usr/include/node', '-DNODE_GYP_MODULE_NAME=layerfs_host', ...defines.map((d) => `-D${d}`), '-o', out, SOURCE]);
  return out;
}

/** src/host/native.ts loaded afresh with LAYERFS_NATIVE_ADDON set to `path`. */
async function nativeWith(path: string) {
  vi.stubEnv('LAYERFS_NATIVE_ADDON', path);
  vi.resetModules();
  return import('../../src/host/native.js');
}

describe('the native addon', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('is the version native.ts calls: the one built (native/build) and the source agree', async () => {
    const native = await import('../../src/host/native.js');
    expect(native.hostCallsMissing()).toBe('');
    expect(native.hostCalls()?.version).toBe(native.HOST_CALLS_VERSION);
    const defined = /#define LAYERFS_HOST_VERSION (\d+)/.exec(fs.readFileSync(SOURCE, 'utf8'));
    expect(Number(defined?.[1])).toBe(native.HOST_CALLS_VERSION);
  });

  it('a build of another version (a native/build left from an older checkout) is not used, and the reason says to rebuild', async () => {
    const native = await import('../../src/host/native.js');
    const stale = buildAddon([`LAYERFS_HOST_VERSION=${native.HOST_CALLS_VERSION - 1}`]);
    const loaded = await nativeWith(stale);
    expect(loaded.hostCalls()).toBeUndefined();
    expect(loaded.hostCallsMissing()).toBe(`the native addon at ${stale} is stale (interface version ${native.HOST_CALLS_VERSION - 1}, this layerfs needs ${native.HOST_CALLS_VERSION}): rebuild it (npm run build:native)`);
  });
});

/**
 * Runs `calls` (the body of a function of `addon`, `dirfd` and `fs`, returning what to print)
 * in a child Node process with test/host/support/fault-shim.c preloaded, which makes chosen
 * libc calls misbehave as the kernel or libc may (a write that makes no progress, EINTR, a
 * free() that changes errno). The child is killed after 10 s: an addon that loops forever
 * shows as a timeout.
 */
function withFaults(calls: string): { out: unknown; timedOut: boolean } {
  const dir = fresh('faults');
  const shim = join(dir, 'fault-shim.so');
  execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', shim, join(REPO, 'test/host/support/fault-shim.c'), '-ldl']);
  const script = `const fs = require('node:fs'); const addon = { exports: {} }; process.dlopen(addon, ${JSON.stringify(ADDON)});
const dirfd = fs.openSync(${JSON.stringify(dir)}, 'r');
const run = (f) => { try { return f(); } catch (e) { return e.code; } };
process.stdout.write(JSON.stringify((function (addon, dirfd, fs, run) { ${calls} })(addon.exports, dirfd, fs, run)));`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, LD_PRELOAD: shim }, encoding: 'utf8', timeout: 10_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { out: undefined, timedOut: true };
  if (r.status !== 0) throw new Error(`the child failed: ${r.stderr}`);
  return { out: JSON.parse(r.stdout), timedOut: false };
}

describe('the native addon when libc calls misbehave (LD_PRELOAD)', () => {
  it('a write that makes no progress is an error (EIO), not an endless loop', () => {
    const r = withFaults('return run(() => addon.writeFileAt(dirfd, "f", 0o644, 0, 0, false, 0, 0, Buffer.alloc(7777), 0));');
    expect(r.timedOut).toBe(false);
    expect(r.out).toBe('EIO');
  });

  it.runIf(isRoot)('a call interrupted by a signal (EINTR) is retried, not reported', () => {
    const r = withFaults('run(() => addon.writeFileAt(dirfd, "f", 0o640, 7, 4242, true, 0, 0, null, 0)); return fs.statSync("/proc/self/fd/" + dirfd + "/f").gid;');
    expect(r.out).toBe(4242);
  });

  it('copyFileAt: a copy_file_range that copies nothing (0) and a sendfile that refuses (EINVAL) go on with pread and write; EINTR is retried', () => {
    const source = 'const src = fs.openSync("/proc/self/fd/" + dirfd + "/src", "w+"); fs.writeSync(src, Buffer.alloc(9000, "s").fill("t", 100));';
    const copied = (n: number) => `run(() => addon.copyFileAt(dirfd, "c${n}", 0o640, 0, 0, false, 0, 0, src, 100, ${n}, 0)); const b = fs.readFileSync("/proc/self/fd/" + dirfd + "/c${n}");`;
    const r = withFaults(`${source} ${copied(7778)} const first = b.length === 7778 && b.every((c) => c === 116); ${copied(7779).replace('const b', 'const b2')} return [first, b2.length === 7779 && b2.every((c) => c === 116), fs.fstatSync(src).size];`);
    expect(r.timedOut).toBe(false);
    expect(r.out).toEqual([true, true, 9000]);
  });

  it('the errno reported is the failed call\'s, read before free() can change it', () => {
    const r = withFaults('fs.writeFileSync("/proc/self/fd/" + dirfd + "/taken", ""); return run(() => addon.mknodat(dirfd, "taken", 0o010421, 0, 0));');
    expect(r.out).toBe('EEXIST');
  });

  it('copyFileAt copies a range of a file by offset, leaving its file position alone; a source that ends first is ERR_SOURCE_ENDED', async () => {
    const { hostCalls } = await import('../../src/host/native.js');
    const calls = hostCalls()!;
    const dir = fresh('copy');
    const dirfd = fs.openSync(dir, 'r');
    const src = fs.openSync(join(dir, 'src'), 'w+');
    try {
      fs.writeSync(src, Buffer.from('0123456789'));
      const fd = calls.copyFileAt(dirfd, null, 0o640, 0, 0, false, 1_000_000, 5_000_000, src, 3, 4, 1);
      expect(fd).toBeGreaterThan(0);
      const st = fs.fstatSync(fd);
      expect([st.size, st.mode & 0o7777, st.mtimeMs]).toEqual([4, 0o640, 1_000_000_005]);
      expect(fs.readFileSync(`/proc/self/fd/${fd}`, 'latin1')).toBe('3456');
      fs.closeSync(fd);
      // The source's own position: where the write above left it.
      expect(fs.writeSync(src, 'x')).toBe(1);
      expect(fs.readFileSync(join(dir, 'src'), 'latin1')).toBe('0123456789x');
      expect(() => calls.copyFileAt(dirfd, 'short', 0o644, 0, 0, false, 0, 0, src, 8, 10, 0)).toThrow(expect.objectContaining({ code: 'ERR_SOURCE_ENDED' }));
      expect(() => calls.copyFileAt(dirfd, 'bad', 0o644, 0, 0, false, 0, 0, src, -1, 10, 0)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }));
    } finally {
      fs.closeSync(src);
      fs.closeSync(dirfd);
    }
  });

  it('bad arguments are a TypeError with a Node argument code, never an errno code a caller would take for the filesystem\'s answer', async () => {
    const { hostCalls } = await import('../../src/host/native.js');
    const calls = hostCalls()!;
    expect(() => calls.setxattr(-1, 'user.a\0b', Buffer.from('x'))).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => (calls.mknodat as (...a: unknown[]) => void)(0, 'x')).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => (calls.setxattr as (...a: unknown[]) => void)(0, 'user.a', 'not a buffer')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

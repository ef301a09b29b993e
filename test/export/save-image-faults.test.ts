import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, saveImage, SaveImageError } from '../../src/index.js';
import { bundleSaveChild, canMount, checkBlobs, DEMO, readByTools, withTmpfs } from '../support/save-check.js';

/**
 * saveImage under faults: a full disk (a small tmpfs), a read-only mount, a directory the
 * saving user may not write, and SIGKILL at several points. After each: a typed error naming
 * the file (or the killed process), every blob under its digest name whole and right, and a
 * rerun that completes with an image umoci and skopeo read.
 */
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-savefaults-'));
// Readable and searchable by the unprivileged child of the EACCES test.
fs.chmodSync(work, 0o755);
let child: string;
beforeAll(() => {
  child = bundleSaveChild();
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  if (child) fs.rmSync(child, { force: true });
});
let n = 0;
const fresh = (name: string) => join(work, `${name}-${n++}`);

/** An overlay of the demo image with a change and `mib` MiB of incompressible data. */
async function changed(mib: number) {
  const base = await openImage(DEMO);
  const ov = base.overlay();
  ov.writeFileSync('/etc/motd', 'changed\n');
  const big = Buffer.alloc(mib * 2 ** 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
  ov.writeFileSync('/big', big);
  return { base, ov };
}

/** A rerun finishes the job: every blob right, no temporary left, the tools read the image. */
async function rerunCompletes(target: string): Promise<void> {
  const { base, ov } = await changed(1);
  const saved = await saveImage(ov, target, { base, ref: 'v2' });
  expect(checkBlobs(target)).toMatchObject({ temps: [], wrong: [] });
  expect(readByTools(target, 'v2', work)).toEqual(saved.layers.map((l) => l.digest));
}

async function failure(p: Promise<unknown>): Promise<SaveImageError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SaveImageError);
  // Names go through /proc/self/fd (src/host/dir-handle.ts); messages name the real path.
  expect((err as Error).message).not.toMatch(/\/proc\/self\/fd/);
  return err as SaveImageError;
}

describe.runIf(canMount)('saveImage on a full, read-only or forbidden filesystem', () => {
  it('ENOSPC: a typed error naming the blob being written; nothing torn; a rerun with room completes', async () => {
    await withTmpfs(fresh('full'), '4m', async (remount) => {
      const target = join(work, `full-${n - 1}`, 'out');
      const { base, ov } = await changed(8);
      const err = await failure(saveImage(ov, target, { base, ref: 'v2' }));
      expect(err.code).toBe('ENOSPC');
      // The file being written: unnamed (O_TMPFILE) in blobs/sha256, or its temporary there.
      expect(err.path).toMatch(/\/out\/blobs\/sha256(\/\.layerfs-tmp\.[0-9a-f]{32})?$/);
      expect(err.message).toMatch(/committed upper layer.*ENOSPC/);
      // The failed file is gone (its space freed); what is named by a digest is right.
      expect(checkBlobs(target)).toMatchObject({ temps: [], wrong: [] });
      expect(fs.existsSync(join(target, 'index.json'))).toBe(false);
      remount('size=64m');
      await rerunCompletes(target);
    });
  });

  it('EROFS: a typed error naming the directory or file; a rerun once writable completes', async () => {
    const at = fresh('ro');
    await withTmpfs(at, '32m', async (remount) => {
      const { base, ov } = await changed(1);
      remount('ro');
      const err = await failure(saveImage(ov, at, { base }));
      expect(err.code).toBe('EROFS');
      expect(err.path).toBe(join(at, 'blobs'));
      // A layout left without its index, then read-only: the base blobs there verify and are
      // reused; the new layer's file cannot be made.
      remount('rw');
      await saveImage(ov, at, { base, ref: 'v2' });
      fs.rmSync(join(at, 'index.json'));
      ov.writeFileSync('/etc/motd', 'changed again\n');
      remount('ro');
      const again = await failure(saveImage(ov, at, { base }));
      expect(again.code).toBe('EROFS');
      // The directory it was to be made in (unnamed or under a temporary name, it never was).
      expect(again.path).toBe(join(at, 'blobs', 'sha256'));
      expect(again.message).toMatch(/creating a temporary file for the committed upper layer/);
      expect(checkBlobs(at)).toMatchObject({ temps: [], wrong: [] });
      remount('rw');
      await rerunCompletes(at);
    });
  });

  /** Runs the bundled child as `nobody`; resolves with what it printed. */
  function runAsNobody(target: string): Promise<{ ok: boolean; name?: string; code?: string; path?: string; message?: string }> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [child, DEMO, target, '0'], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errText = '';
      p.stdout.on('data', (c) => (out += c));
      p.stderr.on('data', (c) => (errText += c));
      p.on('error', reject);
      p.on('close', () => {
        try {
          resolve(JSON.parse(out));
        } catch {
          reject(new Error(`child printed ${JSON.stringify(out)}, stderr ${errText}`));
        }
      });
    });
  }

  it('EACCES looking up a name (a target its user may list but not search): typed, naming the file, no /proc path', async () => {
    const target = fresh('unsearchable');
    fs.mkdirSync(target);
    fs.chownSync(target, 65534, 65534);
    fs.chmodSync(target, 0o600);
    const r = await runAsNobody(target);
    expect(r).toMatchObject({ ok: false, name: 'SaveImageError', code: 'EACCES' });
    expect(r.path).toMatch(new RegExp(`^${target}(/oci-layout)?$`));
    expect(r.message).not.toMatch(/\/proc\/self\/fd/);
    expect(fs.readdirSync(target)).toEqual([]);
  });

  it('EACCES (run as nobody): a typed error naming the directory or file; a rerun with rights completes', async () => {
    const target = fresh('forbidden');
    fs.mkdirSync(target, { mode: 0o755 });
    const r = await runAsNobody(target);
    expect(r).toMatchObject({ ok: false, name: 'SaveImageError', code: 'EACCES', path: join(target, 'blobs') });
    expect(r.message).not.toMatch(/\/proc\/self\/fd/);

    // A layout whose blobs/sha256 the user may not write (the top directory it may).
    const { base, ov } = await changed(1);
    await saveImage(ov, target, { base, ref: 'v2' });
    fs.rmSync(join(target, 'index.json'));
    // The top directory may be writable by others; blobs/ and blobs/sha256 stay root's, 0755.
    fs.chmodSync(target, 0o777);
    const r2 = await runAsNobody(target);
    expect(r2).toMatchObject({ ok: false, name: 'SaveImageError', code: 'EACCES' });
    expect(r2.path).toBe(join(target, 'blobs', 'sha256'));
    expect(r2.message).not.toMatch(/\/proc\/self\/fd/);
    expect(checkBlobs(target)).toMatchObject({ temps: [], wrong: [] });
    expect(fs.existsSync(join(target, 'index.json'))).toBe(false);
    await rerunCompletes(target);
  });
});

/** A system call strace saw: its name, arguments, result, and where it began and ended in the log. */
interface Traced { call: string; args: string; ret: number; start: number; end: number }

/** strace -f output (pids padded to a width; <unfinished ...> / <... resumed> pairs) as calls. */
function parseStrace(log: string): Traced[] {
  const calls: Traced[] = [];
  const pending = new Map<string, { call: string; args: string; start: number }>();
  log.split('\n').forEach((line, i) => {
    let m = /^(\d+) +(\w+)\((.*)\) += (-?\d+)/.exec(line);
    if (m) return void calls.push({ call: m[2]!, args: m[3]!, ret: Number(m[4]), start: i, end: i });
    m = /^(\d+) +(\w+)\((.*) <unfinished \.\.\.>$/.exec(line);
    if (m) return void pending.set(m[1]!, { call: m[2]!, args: m[3]!, start: i });
    m = /^(\d+) +<\.\.\. (\w+) resumed>(.*)\) += (-?\d+)/.exec(line);
    const p = m && pending.get(m[1]!);
    if (m && p) {
      pending.delete(m[1]!);
      calls.push({ call: p.call, args: p.args + m[3]!, ret: Number(m[4]), start: p.start, end: i });
    }
  });
  return calls;
}

const hasStrace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(canMount && hasStrace)('saveImage flushes what index.json names before writing it', () => {
  it('a reused blob is fsync\'d, and the top directory before index.json is renamed into place and after', async () => {
    const target = fresh('durable');
    const { base, ov } = await changed(1);
    await saveImage(ov, target, { base, ref: 'v2' });
    fs.rmSync(join(target, 'index.json'));
    const log = join(work, `strace-${n++}.log`);
    execFileSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=openat,close,fsync,fdatasync,rename', process.execPath, child, DEMO, target, '0']);
    const calls = parseStrace(fs.readFileSync(log, 'utf8'));
    fs.rmSync(log);
    // Which file each fsync flushed: the name its descriptor was opened by, when it ended.
    const open = new Map<number, string>();
    const flushed: Array<{ name: string; end: number }> = [];
    for (const c of [...calls].sort((a, b) => a.end - b.end)) {
      if (c.call === 'openat' && c.ret >= 0) open.set(c.ret, /"([^"]*)"/.exec(c.args)![1]!);
      if (c.call === 'close') open.delete(Number(c.args));
      if ((c.call === 'fsync' || c.call === 'fdatasync') && c.ret === 0) flushed.push({ name: open.get(Number(c.args)) ?? '?', end: c.end });
    }
    const renamed = (to: string) => calls.find((c) => c.call === 'rename' && c.ret === 0 && c.args.endsWith(`/${to}"`))!;
    const index = renamed('index.json');
    const layout = renamed('oci-layout');
    expect(index, 'index.json renamed into place').toBeDefined();
    const flushedBefore = (name: string, at: number) => flushed.some((f) => f.name.endsWith(`/${name}`) && f.end < at);
    for (const l of base.layers) expect(flushedBefore(l.digest.slice(7), index.start), `reused ${l.digest} fsync'd before index.json`).toBe(true);
    const rootName = target.split('/').at(-1)!;
    const rootFlushes = flushed.filter((f) => f.name.endsWith(`/${rootName}`));
    expect(rootFlushes.some((f) => f.end > layout.end && f.end < index.start), 'the top directory fsync\'d between oci-layout and index.json').toBe(true);
    expect(rootFlushes.some((f) => f.end > index.end), 'the top directory fsync\'d after index.json').toBe(true);
    expect(readByTools(target, 'v2', work)).toHaveLength(base.layers.length + 1);
  });
});

describe.runIf(canMount)('saveImage without /proc', () => {
  it('a typed error saying it needs Linux /proc (ERR_NEEDS_PROC), before anything is made', async () => {
    const target = join(fresh('noproc'), 'out');
    // A mount namespace of its own with an empty tmpfs over /proc: /proc/self/fd is absent.
    const p = spawn('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs none /proc && exec "$0" "$@"', process.execPath, child, DEMO, target, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    await new Promise((resolve) => p.on('close', resolve));
    expect(JSON.parse(out)).toMatchObject({ ok: false, name: 'SaveImageError', code: 'ERR_NEEDS_PROC', path: target, message: expect.stringMatching(/needs Linux.*\/proc/) });
    expect(fs.existsSync(target)).toBe(false);
  });
});

describe.runIf(canMount)('saveImage killed (SIGKILL) mid-save', () => {
  /** The points a kill lands at: the target's state when the child is killed, or a delay. */
  const entries = (target: string) => {
    try {
      return fs.readdirSync(join(target, 'blobs', 'sha256')).length;
    } catch {
      return 0;
    }
  };
  const POINTS: Array<[string, (target: string, ms: number) => boolean]> = [
    ...[1, 2, 3, 4, 5, 6, 7].map((k): [string, (t: string) => boolean] => [`${k} entries in blobs/sha256`, (t) => entries(t) >= k]),
    ['oci-layout written', (t) => fs.existsSync(join(t, 'oci-layout'))],
    ...[250, 400, 550, 700].map((d): [string, (t: string, ms: number) => boolean] => [`${d} ms after the start`, (_t, ms) => ms >= d]),
  ];

  it('after a kill at any point, nothing under a digest name is torn, an index is complete or absent, and a rerun completes', async () => {
    const killedMidSave: string[] = [];
    for (const [label, when] of POINTS) {
      const target = fresh('killed');
      const start = Date.now();
      const p = spawn(process.execPath, [child, DEMO, target, '16'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => p.on('close', () => resolve()));
      let done = false;
      void exited.then(() => (done = true));
      // Polled every millisecond (a sleep, not a spin: the machine is shared) until the point
      // is reached or the child is done on its own.
      while (!done && Date.now() - start < 20_000 && !fs.existsSync(join(target, 'index.json'))) {
        if (when(target, Date.now() - start)) {
          p.kill('SIGKILL');
          break;
        }
        await sleep(1);
      }
      await exited;
      if (p.signalCode === 'SIGKILL' && !fs.existsSync(join(target, 'index.json'))) killedMidSave.push(label);
      const state = checkBlobs(target);
      expect(state.wrong, `${label}: blobs under a digest name with other bytes`).toEqual([]);
      if (fs.existsSync(join(target, 'index.json'))) readByTools(target, 'v2', work);
      await rerunCompletes(target);
    }
    // Most points land before the save completes (the last ones may come after it).
    expect(killedMidSave.length, killedMidSave.join(', ')).toBeGreaterThanOrEqual(6);
  }, 180_000);
});

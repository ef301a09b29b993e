import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openContentStore } from '../../src/store/directory-store.js';
import { scratch } from '../support/scratch.js';
import { bundleStoreChild } from './support/bundle-child.js';
import { bytesOf } from './support/bytes-of.js';
import { chunks } from './support/demo-blobs.js';

// Real processes on one store: two pulls racing (the same blob, different blobs, tags of
// both in index.json) with a gc looping beside them; a pull killed mid-ingest.

const { fresh } = scratch('lfs-store-race-');
const child = bundleStoreChild();
afterAll(() => fs.rmSync(child, { force: true }));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function start(...args: string[]): { proc: ChildProcess; lines: string[]; done: Promise<unknown> } {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const lines: string[] = [];
  let rest = '';
  proc.stdout!.on('data', (c: Buffer) => {
    const parts = (rest + c.toString()).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  const done = new Promise<unknown>((resolve) => proc.on('exit', () => resolve(lines.length ? JSON.parse(lines[lines.length - 1]!) : undefined)));
  return { proc, lines, done };
}

/** Every file under blobs/ hashes to its name. */
function blobsVerify(dir: string): string[] {
  const names = fs.readdirSync(join(dir, 'blobs', 'sha256'));
  for (const hex of names) expect(createHash('sha256').update(fs.readFileSync(join(dir, 'blobs', 'sha256', hex))).digest('hex')).toBe(hex);
  return names;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('two processes on one store', () => {
  it('racing pulls of the same and different blobs, each tagging 20 refs, with gc looping beside them, leave a valid store with every tag', async () => {
    const dir = fresh('race');
    await openContentStore(dir);
    const stop = join(fresh('stop'), 'stop');
    const gc = start('gc', dir, stop);
    const barrier = fresh('barrier');
    const a = start('pull', dir, 'alpha', '20', barrier);
    const b = start('pull', dir, 'beta', '20', barrier);
    const pulls = await Promise.all([a.done, b.done]);
    fs.writeFileSync(stop, '');
    const [ra, rb, rg] = [...pulls, await gc.done] as Array<{ ok: boolean; manifest: string; written: Record<string, boolean>; runs: number }>;
    expect(ra).toEqual(expect.objectContaining({ ok: true }));
    expect(rb).toEqual(expect.objectContaining({ ok: true }));
    expect(rg).toEqual(expect.objectContaining({ ok: true }));
    expect(rg!.runs).toBeGreaterThan(0);
    // The shared blob was written whole by one of them at least: when both found it absent,
    // the second rename replaced the first's copy of the same verified bytes; when one came
    // after the other's rename (a loaded machine), it found the blob and wrote nothing.
    const shared = sha256(bytesOf('shared', 8 * 2 ** 20));
    expect([ra!.written[shared], rb!.written[shared]]).toContain(true);
    const store = await openContentStore(dir, { create: false });
    const refs = (await store.images()).images.map((i) => i.ref).sort();
    expect(refs).toEqual([...Array.from({ length: 20 }, (_, i) => `alpha-${i}`), ...Array.from({ length: 20 }, (_, i) => `beta-${i}`)].sort());
    for (const i of (await store.images()).images) expect(i.missing).toEqual([]);
    expect(blobsVerify(dir)).toHaveLength(1 + 2 * 3); // the shared layer once; each writer's layer, config, manifest
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([]);
    expect(fs.readdirSync(join(dir, '.layerfs', 'leases'))).toEqual([]);
    for (const [ref, r] of [['alpha-19', ra], ['beta-7', rb]] as const) {
      const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${dir}:${ref}`], { encoding: 'utf8' })) as { Digest: string };
      expect(inspected.Digest).toBe(r!.manifest);
    }
    expect(execFileSync('umoci', ['ls', '--layout', dir], { encoding: 'utf8' }).split('\n').filter(Boolean)).toHaveLength(40);
    // After both, with nothing leased, gc finds nothing to remove: every blob is tagged.
    expect((await store.gc()).removed).toEqual([]);
  }, 60_000);

  it('a writer killed mid-ingest (SIGKILL) leaves no blob under the digest; the next ingest completes and gc removes the leftover', async () => {
    const dir = fresh('killed');
    await openContentStore(dir);
    const size = 4 * 2 ** 20;
    const slow = start('slow', dir, String(size));
    await expect.poll(() => slow.lines.includes('"started"'), { timeout: 20_000 }).toBe(true);
    const ingest = join(dir, '.layerfs', 'ingest');
    const [temp] = fs.readdirSync(ingest);
    expect(temp).toMatch(new RegExp(`\\.${slow.proc.pid}\\.`));
    slow.proc.kill('SIGKILL');
    await slow.done;
    expect(slow.proc.signalCode).toBe('SIGKILL');
    const data = bytesOf('slow', size);
    const digest = sha256(data);
    expect(fs.readdirSync(join(dir, 'blobs', 'sha256'))).toEqual([]);
    expect(fs.statSync(join(ingest, temp!)).size).toBeLessThan(size);
    const store = await openContentStore(dir);
    expect(await store.has(digest)).toBe(false);
    expect(await store.ingest({ digest, size }, chunks(data))).toEqual({ digest, size, written: true });
    expect(blobsVerify(dir)).toEqual([digest.slice(7)]);
    // The killed writer's temporary: its pid is gone, so gc removes it (the blob itself is untagged too).
    expect(fs.readdirSync(ingest)).toEqual([temp]);
    await store.gc();
    expect(fs.readdirSync(ingest)).toEqual([]);
  }, 60_000);

  it('a lock left by a killed process is broken; one held by a live process is waited for, then ERR_STORE_LOCKED', async () => {
    const dir = fresh('lock');
    const store = await openContentStore(dir, { lockWaitMs: 300 });
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('exit', r));
    const lock = join(dir, '.layerfs', 'lock');
    const { hostname } = await import('node:os');
    fs.writeFileSync(lock, JSON.stringify({ pid: dead.pid, host: hostname() }));
    expect(await store.untag('nothing')).toBe(false);
    expect(fs.existsSync(lock)).toBe(false);
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    children.push(live);
    fs.writeFileSync(lock, JSON.stringify({ pid: live.pid, host: hostname() }));
    await expect(store.untag('nothing')).rejects.toEqual(expect.objectContaining({ name: 'StoreError', code: 'ERR_STORE_LOCKED' }));
    expect(JSON.parse(fs.readFileSync(lock, 'utf8'))).toEqual({ pid: live.pid, host: hostname() });
    live.kill('SIGKILL');
    fs.rmSync(lock);
  });

  it('two processes opening one stored gzip layer for the first time at once each save whole files; a third opens it from the index with the same content', async () => {
    const dir = fresh('verify-once');
    const store = await openContentStore(dir);
    const src = fresh('layer');
    execFileSync('sh', ['-c', 'mkdir -p r/usr/lib && head -c 20000000 /dev/urandom > r/usr/lib/big && echo hi > r/hello && tar -C r -cf - . | gzip -1 > l.tar.gz'], { cwd: src });
    const blob = fs.readFileSync(join(src, 'l.tar.gz'));
    const digest = sha256(blob);
    await store.ingest({ digest, size: blob.length }, chunks(blob));
    const barrier = fresh('barrier');
    const [a, b] = await Promise.all([start('open', dir, digest, barrier).done, start('open', dir, digest, barrier).done]) as Array<{ ok: boolean; fromIndex: boolean; content: string }>;
    expect(a).toEqual(expect.objectContaining({ ok: true }));
    expect(b).toEqual(expect.objectContaining({ ok: true, content: a!.content }));
    expect([a!.fromIndex, b!.fromIndex]).toContain(false);
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([]); // no temporary left
    const third = fresh('barrier3');
    fs.writeFileSync(join(third, 'other'), '');
    const c = await start('open', dir, digest, third).done as { ok: boolean; fromIndex: boolean; content: string };
    expect(c).toEqual({ ok: true, fromIndex: true, content: a!.content });
  });
});

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openImage, saveImage, SaveImageError } from '../../src/index.js';
import { checkBlobs, DEMO, readByTools } from '../support/save-check.js';

/**
 * What saveImage accepts as an existing layout to add to, and what it refuses
 * (ERR_NOT_A_LAYOUT) before writing anything: index.json and oci-layout are read back
 * bounded, never blocking, and only a real image index is kept.
 */
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-saveexisting-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(work, `case-${n++}`);
  fs.mkdirSync(d);
  return d;
};

async function changed() {
  const base = await openImage(DEMO);
  const ov = base.overlay();
  ov.writeFileSync('/etc/motd', 'changed\n');
  return { base, ov };
}

/** saveImage into `target` must fail with ERR_NOT_A_LAYOUT naming `file`, before any write. */
async function refused(target: string, file: string, reason: RegExp): Promise<void> {
  const { base, ov } = await changed();
  const err = await saveImage(ov, target, { base }).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SaveImageError);
  expect(err).toMatchObject({ code: 'ERR_NOT_A_LAYOUT', path: join(target, file) });
  expect((err as Error).message).toMatch(reason);
  expect(fs.existsSync(join(target, 'blobs'))).toBe(false);
}

const index = (extra: Record<string, unknown> = {}) => JSON.stringify({ schemaVersion: 2, manifests: [], ...extra });

describe('an existing index.json', () => {
  it.each([
    ['null', [null]],
    ['a number', [1]],
    ['a string', ['sha256:abc']],
    ['a list', [[]]],
  ])('with a manifests entry that is %s: refused', async (_label, manifests) => {
    const target = fresh();
    fs.writeFileSync(join(target, 'index.json'), index({ manifests }));
    await refused(target, 'index.json', /not an image index/);
  });

  it('nested deeper than JSON.stringify can write back: refused before any blob is written, not a RangeError after', async () => {
    const target = fresh();
    const depth = 200_000;
    fs.writeFileSync(join(target, 'index.json'), `{"schemaVersion":2,"manifests":[],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    await refused(target, 'index.json', /nested/);
  });

  it('nested as deep as a real index (annotations, platform features): kept', async () => {
    const target = fresh();
    const kept = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 1, platform: { architecture: 'amd64', os: 'linux', features: ['x'] }, annotations: { 'org.opencontainers.image.ref.name': 'old' } };
    fs.writeFileSync(join(target, 'index.json'), index({ manifests: [kept], annotations: { a: 'b' } }));
    const { base, ov } = await changed();
    await saveImage(ov, target, { base, ref: 'v2' });
    expect(JSON.parse(fs.readFileSync(join(target, 'index.json'), 'utf8')).manifests[0]).toEqual(kept);
  });

  it('larger than the 16 MiB read back: refused, even when it is a valid index', async () => {
    const target = fresh();
    fs.writeFileSync(join(target, 'index.json'), index({ annotations: { pad: 'x'.repeat(16 * 2 ** 20) } }));
    await refused(target, 'index.json', /more than the 16777216 read back/);
  });

  // A /proc file is a regular file whose size reads 0 but which holds bytes: bind-mounted as
  // index.json, it is a file that holds more than it measured, as one growing while read.
  it.runIf(process.getuid?.() === 0)('holding more than its size says (it grew while read): refused, never read past size + 1', async () => {
    const target = fresh();
    const file = join(target, 'index.json');
    fs.writeFileSync(file, index());
    execFileSync('mount', ['--bind', '/proc/version', file]);
    try {
      expect(fs.statSync(file).size).toBe(0);
      await refused(target, 'index.json', /grew while being read/);
    } finally {
      execFileSync('umount', [file]);
    }
  });

  it.each(['index.json', 'oci-layout'])('%s a FIFO: refused at once (not a regular file), never waiting for a writer', async (name) => {
    const target = fresh();
    const fifo = join(target, name);
    execFileSync('mkfifo', [fifo]);
    // An open that waits for a writer blocks this whole thread (timers included): a writer
    // arriving after 3 s releases it, and the time taken shows whether it waited.
    const release = spawn('sh', ['-c', 'sleep 3; exec 3>"$1"', 'sh', fifo], { detached: true, stdio: 'ignore' });
    try {
      const { base, ov } = await changed();
      const start = Date.now();
      const err = await saveImage(ov, target, { base }).then(() => undefined, (e: unknown) => e);
      expect(Date.now() - start).toBeLessThan(2500);
      expect(err).toMatchObject({ code: 'ERR_NOT_A_LAYOUT', path: fifo });
      expect((err as Error).message).toMatch(/not a regular file/);
    } finally {
      process.kill(-release.pid!, 'SIGKILL');
    }
  });
});

describe('an existing blob', () => {
  it('of the right size with other bytes: not reused, replaced by the verified blob', async () => {
    const target = fresh();
    const { base, ov } = await changed();
    await saveImage(ov, target, { base, ref: 'v2' });
    fs.rmSync(join(target, 'index.json'));
    const hex = base.layers[1]!.digest.slice(7);
    const path = join(target, 'blobs', 'sha256', hex);
    const bytes = fs.readFileSync(path);
    bytes[bytes.length >> 1]! ^= 0xff;
    fs.rmSync(path);
    fs.writeFileSync(path, bytes, { mode: 0o644 });
    expect(checkBlobs(target).wrong).toEqual([`sha256:${hex}`]);
    const saved = await saveImage(ov, target, { base, ref: 'v2' });
    expect(checkBlobs(target)).toMatchObject({ temps: [], wrong: [] });
    expect(readByTools(target, 'v2', work)).toEqual(saved.layers.map((l) => l.digest));
  });
});

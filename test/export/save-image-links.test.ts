import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TEMP_NAME } from '../../src/host/publish.js';
import { openImage, saveImage, SaveImageError, type Image, type Overlay } from '../../src/index.js';
import { checkBlobs, DEMO, readByTools } from '../support/save-check.js';

/**
 * saveImage into a directory another user can write: a link planted in the layout, before
 * the save or while it runs, is never followed (src/image/layout-writer.ts).
 */
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-savelinks-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let dir: string;
let victim: string;
let elsewhere: string;
let n = 0;
beforeEach(() => {
  dir = join(work, `case-${n++}`);
  fs.mkdirSync(dir);
  victim = join(dir, 'victim');
  fs.writeFileSync(victim, 'keep me\n');
  elsewhere = join(dir, 'elsewhere');
  fs.mkdirSync(elsewhere);
});

async function changed(): Promise<{ base: Image; ov: Overlay }> {
  return changedIn({ openImage });
}

/** changed(), with the openImage of `lib` (a copy of layerfs loaded afresh). */
async function changedIn(lib: { openImage: typeof openImage }): Promise<{ base: Image; ov: Overlay }> {
  const base = await lib.openImage(DEMO);
  const ov = base.overlay();
  ov.writeFileSync('/etc/motd', 'changed\n');
  ov.writeFileSync('/big', Buffer.alloc(1 << 20, 7));
  return { base, ov };
}

const SAVE = { ref: 'v2', sourceDateEpoch: 1_700_000_000 } as const;

/** A name like the temporaries a killed save leaves (TEMP_NAME of src/host/publish.ts). */
const leftover = (digit: string) => `.layerfs-tmp.${digit.repeat(32)}`;

/** The victim and the other directory are as they were. */
function untouched(): void {
  expect(fs.readFileSync(victim, 'utf8')).toBe('keep me\n');
  expect(fs.readdirSync(elsewhere)).toEqual([]);
}

async function expectSaveError(p: Promise<unknown>, code: string, path: RegExp): Promise<SaveImageError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SaveImageError);
  expect((err as SaveImageError).code).toBe(code);
  expect((err as SaveImageError).path).toMatch(path);
  return err as SaveImageError;
}

/** A layout left by a save that stopped after its blobs: what a rerun must finish. */
async function partialLayout(target: string): Promise<string[]> {
  const { base, ov } = await changed();
  await saveImage(ov, target, { ...SAVE, base });
  fs.rmSync(join(target, 'index.json'));
  fs.rmSync(join(target, 'oci-layout'));
  return base.layers.map((l) => l.digest.slice(7));
}

describe('saveImage never follows a link planted before the save', () => {
  it('index.json -> victim: refused (ELOOP), the victim untouched', async () => {
    const target = join(dir, 'out');
    await partialLayout(target);
    fs.symlinkSync(victim, join(target, 'index.json'));
    const { base, ov } = await changed();
    await expectSaveError(saveImage(ov, target, { ...SAVE, base }), 'ELOOP', /out\/index\.json$/);
    untouched();
  });

  it('oci-layout -> victim: refused (ELOOP)', async () => {
    const target = join(dir, 'out');
    await partialLayout(target);
    fs.symlinkSync(victim, join(target, 'oci-layout'));
    const { base, ov } = await changed();
    await expectSaveError(saveImage(ov, target, { ...SAVE, base }), 'ELOOP', /out\/oci-layout$/);
    untouched();
  });

  it('blobs -> elsewhere: refused (ELOOP), nothing written there', async () => {
    const target = join(dir, 'out');
    fs.mkdirSync(target);
    fs.symlinkSync(elsewhere, join(target, 'blobs'));
    const { base, ov } = await changed();
    await expectSaveError(saveImage(ov, target, { ...SAVE, base }), 'ELOOP', /out\/blobs$/);
    untouched();
  });

  it('blobs/sha256 -> elsewhere: refused (ELOOP), nothing written there', async () => {
    const target = join(dir, 'out');
    fs.mkdirSync(join(target, 'blobs'), { recursive: true });
    fs.symlinkSync(elsewhere, join(target, 'blobs', 'sha256'));
    const { base, ov } = await changed();
    await expectSaveError(saveImage(ov, target, { ...SAVE, base }), 'ELOOP', /out\/blobs\/sha256$/);
    untouched();
  });

  it('the target itself a symlink: refused (ELOOP)', async () => {
    fs.symlinkSync(elsewhere, join(dir, 'out'));
    const { base, ov } = await changed();
    await expectSaveError(saveImage(ov, join(dir, 'out'), { ...SAVE, base }), 'ELOOP', /out$/);
    untouched();
  });

  // open(2) follows a final symlink despite O_NOFOLLOW when the path ends in "/" or "/."
  it.each(['/', '//', '/.', '/./'])('the target given as out%s, out a symlink: refused (ELOOP), nothing written through it', async (suffix) => {
    fs.symlinkSync(elsewhere, join(dir, 'out'));
    const { base, ov } = await changed();
    await expectSaveError(saveImage(ov, `${dir}/out${suffix}`, { ...SAVE, base }), 'ELOOP', /\/out$/);
    untouched();
  });

  it('the target given as out/.., out a symlink: refused before anything is written (ERR_INVALID_ARG_VALUE)', async () => {
    fs.symlinkSync(elsewhere, join(dir, 'out'));
    const { base, ov } = await changed();
    const err = await saveImage(ov, `${dir}/out/..`, { ...SAVE, base }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect((err as Error).message).toMatch(/target.*\.\./);
    untouched();
    expect(fs.readdirSync(dir).sort()).toEqual(['elsewhere', 'out', 'victim']);
  });

  it('a target below a regular file (afile/out), or a regular file itself: ENOTDIR naming it', async () => {
    fs.writeFileSync(join(dir, 'afile'), '');
    const { base, ov } = await changed();
    await expectSaveError(saveImage(ov, join(dir, 'afile', 'out'), { ...SAVE, base }), 'ENOTDIR', /\/afile$/);
    await expectSaveError(saveImage(ov, join(dir, 'afile', 'sub', 'out'), { ...SAVE, base }), 'ENOTDIR', /\/afile(\/sub)?$/);
    await expectSaveError(saveImage(ov, join(dir, 'afile'), { ...SAVE, base }), 'ENOTDIR', /\/afile$/);
    expect(fs.readFileSync(join(dir, 'afile'), 'utf8')).toBe('');
  });

  it('a blob name that is a symlink, a FIFO, or a torn copy: replaced by the verified blob; the save completes', async () => {
    const target = join(dir, 'out');
    const [first, second, third] = await partialLayout(target);
    const blobs = join(target, 'blobs', 'sha256');
    fs.rmSync(join(blobs, first!));
    fs.symlinkSync(victim, join(blobs, first!));
    fs.rmSync(join(blobs, second!));
    fs.writeFileSync(join(blobs, second!), 'torn');
    fs.rmSync(join(blobs, third!));
    // A FIFO under a blob's name: a reader that opened it would wait for a writer for ever.
    (await import('node:child_process')).execFileSync('mkfifo', [join(blobs, third!)]);
    const { base, ov } = await changed();
    const saved = await saveImage(ov, target, { ...SAVE, base });
    untouched();
    for (const hex of [first, second, third]) expect(fs.lstatSync(join(blobs, hex!)).isFile()).toBe(true);
    expect(checkBlobs(target)).toMatchObject({ temps: [], wrong: [] });
    expect(readByTools(target, 'v2', dir)).toEqual(saved.layers.map((l) => l.digest));
  });

  it('leftover temporaries are removed; a symlink with such a name is not one (left alone, never followed)', async () => {
    const target = join(dir, 'out');
    await partialLayout(target);
    const blobs = join(target, 'blobs', 'sha256');
    fs.writeFileSync(join(blobs, leftover('0')), 'half a blob');
    fs.symlinkSync(victim, join(blobs, leftover('f')));
    fs.symlinkSync(victim, join(target, leftover('d')));
    const { base, ov } = await changed();
    await saveImage(ov, target, { ...SAVE, base });
    untouched();
    expect(checkBlobs(target)).toMatchObject({ temps: [join(blobs, leftover('f'))], wrong: [] });
    expect(fs.readdirSync(target).sort()).toEqual([leftover('d'), 'blobs', 'index.json', 'oci-layout']);
    for (const link of [join(blobs, leftover('f')), join(target, leftover('d'))]) expect(fs.readlinkSync(link)).toBe(victim);
  });

  it('a target holding other files is refused (ERR_NOT_A_LAYOUT) before anything is written', async () => {
    const target = join(dir, 'out');
    fs.mkdirSync(target);
    fs.writeFileSync(join(target, 'notes.txt'), '');
    const { base, ov } = await changed();
    const err = await expectSaveError(saveImage(ov, target, { ...SAVE, base }), 'ERR_NOT_A_LAYOUT', /out$/);
    expect(err.message).toMatch(/not empty/);
    expect(fs.readdirSync(target)).toEqual(['notes.txt']);
  });

  it('a target holding other files and names like temporaries: refused, and none of them removed', async () => {
    const target = join(dir, 'out');
    fs.mkdirSync(target);
    const names = ['.layerfs-tmp.mydraft', leftover('0'), 'notes.txt', '.layerfs-tmp-0123456789abcdef', '.layerfs-tmp.x'];
    for (const name of names) fs.writeFileSync(join(target, name), name);
    const { base, ov } = await changed();
    await expectSaveError(saveImage(ov, target, { ...SAVE, base }), 'ERR_NOT_A_LAYOUT', /out$/);
    expect(fs.readdirSync(target).sort()).toEqual([...names].sort());
  });

  // Another user who may write blobs/ or blobs/<alg> could swap a verified blob after the
  // save; only the top directory may be shared (the inode checks cover what is written there).
  it.each([
    ['blobs writable by others', (t: string) => fs.chmodSync(join(t, 'blobs'), 0o777), /out\/blobs$/],
    ['blobs/sha256 writable by its group', (t: string) => fs.chmodSync(join(t, 'blobs', 'sha256'), 0o775), /out\/blobs\/sha256$/],
    ['blobs/sha256 sticky and world-writable, like /tmp', (t: string) => fs.chmodSync(join(t, 'blobs', 'sha256'), 0o1777), /out\/blobs\/sha256$/],
    ['blobs/sha256 owned by another user', (t: string) => fs.chownSync(join(t, 'blobs', 'sha256'), 65534, 65534), /out\/blobs\/sha256$/],
  ])('an existing layout with %s: refused (ERR_UNSAFE_LAYOUT) before anything is written or removed', async (_label, spoil, path) => {
    const target = join(dir, 'out');
    await partialLayout(target);
    fs.writeFileSync(join(target, 'blobs', 'sha256', leftover('0')), 'left');
    spoil(target);
    const before = fs.readdirSync(join(target, 'blobs', 'sha256')).sort();
    const { base, ov } = await changed();
    const err = await expectSaveError(saveImage(ov, target, { ...SAVE, base }), 'ERR_UNSAFE_LAYOUT', path);
    expect(err.message).toMatch(/not writable by group or others/);
    expect(fs.readdirSync(join(target, 'blobs', 'sha256')).sort()).toEqual(before);
    expect(fs.existsSync(join(target, 'index.json'))).toBe(false);
  });

  it('a top directory writable by others is used; the directories saveImage makes are not, whatever the umask', async () => {
    const target = join(dir, 'out');
    fs.mkdirSync(target);
    fs.chmodSync(target, 0o777);
    const { base, ov } = await changed();
    const mask = process.umask(0);
    let saved;
    try {
      saved = await saveImage(ov, target, { ...SAVE, base });
      await saveImage(ov, join(dir, 'made'), { ...SAVE, base });
    } finally {
      process.umask(mask);
    }
    for (const d of [join(target, 'blobs'), join(target, 'blobs', 'sha256'), join(dir, 'made'), join(dir, 'made', 'blobs', 'sha256')]) {
      expect(fs.statSync(d).mode & 0o022, d).toBe(0);
    }
    expect(readByTools(target, 'v2', dir)).toEqual(saved.layers.map((l) => l.digest));
  });

  it('a target inside a set-group-ID directory (its new directories inherit the bit): saved', async () => {
    fs.chmodSync(dir, 0o2775);
    const target = join(dir, 'out');
    const { base, ov } = await changed();
    const saved = await saveImage(ov, target, { ...SAVE, base });
    expect(fs.statSync(join(target, 'blobs')).mode & 0o2000).toBe(0o2000);
    expect(readByTools(target, 'v2', dir)).toEqual(saved.layers.map((l) => l.digest));
  });

  it('adds to an existing layout: other refs kept, the same ref replaced', async () => {
    const target = join(dir, 'out');
    const { base, ov } = await changed();
    const one = await saveImage(ov, target, { base, ref: 'one' });
    const two = await saveImage(ov, target, { base, ref: 'two', sourceDateEpoch: 1 });
    ov.writeFileSync('/etc/motd', 'changed again\n');
    const again = await saveImage(ov, target, { base, ref: 'one' });
    const index = JSON.parse(fs.readFileSync(join(target, 'index.json'), 'utf8'));
    const refs = index.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]);
    expect(refs).toEqual([['two', two.manifest.digest], ['one', again.manifest.digest]]);
    expect(again.manifest.digest).not.toBe(one.manifest.digest);
    expect(readByTools(target, 'two', dir)).toEqual(two.layers.map((l) => l.digest));
    expect(readByTools(target, 'one', dir)).toEqual(again.layers.map((l) => l.digest));
    expect((await openImage(target, { ref: 'one' })).overlay().readFileSync('/etc/motd', 'utf8')).toBe('changed again\n');
  });

  it('an index.json that is not an index, or an oci-layout of another version, is not replaced (ERR_NOT_A_LAYOUT)', async () => {
    const { base, ov } = await changed();
    const a = join(dir, 'a');
    fs.mkdirSync(a);
    fs.writeFileSync(join(a, 'index.json'), '{"not":"an index"}');
    await expectSaveError(saveImage(ov, a, { base }), 'ERR_NOT_A_LAYOUT', /a\/index\.json$/);
    expect(fs.readFileSync(join(a, 'index.json'), 'utf8')).toBe('{"not":"an index"}');
    const b = join(dir, 'b');
    fs.mkdirSync(b);
    fs.writeFileSync(join(b, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await expectSaveError(saveImage(ov, b, { base }), 'ERR_NOT_A_LAYOUT', /b\/oci-layout$/);
  });
});

/** Runs `plant` as soon as `ready()` holds, concurrently with the save; says whether it ran. */
async function racing(save: () => Promise<unknown>, ready: () => boolean, plant: () => void): Promise<{ planted: boolean; result: unknown }> {
  let planted = false;
  let done = false;
  const watcher = (async () => {
    while (!done && !planted) {
      if (ready()) {
        plant();
        planted = true;
      }
      await tick();
    }
  })();
  const result = await save().then((v) => v, (e: unknown) => e);
  done = true;
  await watcher;
  return { planted, result };
}

/**
 * A `ready` for racing: once `when` holds, takes the first temporary in `at` out of the
 * layout (renamed away), as another user would before putting something at its name.
 */
function takeTemp(at: string, when: () => boolean): { ready: () => boolean; name: () => string } {
  let taken: string | undefined;
  return {
    ready: () => {
      const temp = fs.existsSync(at) && when() ? fs.readdirSync(at).find((f) => TEMP_NAME.test(f)) : undefined;
      if (!temp) return false;
      try {
        fs.renameSync(join(at, temp), join(dir, 'taken'));
      } catch {
        return false; // renamed into place already
      }
      taken = temp;
      return true;
    },
    name: () => taken!,
  };
}

describe('saveImage never follows a link planted while it runs', () => {
  it('index.json -> victim planted mid-save: the link is replaced, the victim untouched', async () => {
    const target = join(dir, 'out');
    const { base, ov } = await changed();
    const { planted, result } = await racing(
      () => saveImage(ov, target, { ...SAVE, base }),
      () => fs.existsSync(join(target, 'blobs')),
      () => fs.symlinkSync(victim, join(target, 'index.json')),
    );
    expect(planted).toBe(true);
    untouched();
    expect(result).not.toBeInstanceOf(Error);
    expect(fs.lstatSync(join(target, 'index.json')).isFile()).toBe(true);
    expect(readByTools(target, 'v2', dir)).toHaveLength(5);
  });

  it('the committed layer\'s blob name planted as a symlink mid-save: replaced, the victim untouched', async () => {
    const { base, ov } = await changed();
    const first = await saveImage(ov, join(dir, 'first'), { ...SAVE, base });
    const top = first.layers.at(-1)!.digest.slice(7);
    const target = join(dir, 'out');
    const { planted, result } = await racing(
      () => saveImage(ov, target, { ...SAVE, base }),
      () => fs.existsSync(join(target, 'blobs', 'sha256')),
      () => fs.symlinkSync(victim, join(target, 'blobs', 'sha256', top)),
    );
    expect(planted).toBe(true);
    untouched();
    expect((result as { layers: Array<{ digest: string }> }).layers.at(-1)!.digest).toBe(`sha256:${top}`);
    expect(checkBlobs(target)).toMatchObject({ temps: [], wrong: [] });
  });

  it.each([
    ['blobs/sha256 swapped for a symlink', (t: string) => {
      fs.renameSync(join(t, 'blobs', 'sha256'), join(t, 'blobs', 'moved'));
      fs.symlinkSync(elsewhere, join(t, 'blobs', 'sha256'));
    }, (t: string) => join(t, 'blobs', 'sha256')],
    ['blobs itself swapped for a symlink', (t: string) => {
      fs.renameSync(join(t, 'blobs'), join(t, 'blobs.moved'));
      fs.symlinkSync(elsewhere, join(t, 'blobs'));
    }, (t: string) => join(t, 'blobs')],
    ['the target itself moved away and a new directory made at its name', (t: string) => {
      fs.renameSync(t, join(dir, 'out.moved'));
      fs.mkdirSync(t);
    }, (t: string) => t],
  ])('%s mid-save: ERR_TARGET_CHANGED naming what changed, nothing written elsewhere, no index.json', async (_label, swap, changed_) => {
    const target = join(dir, 'out');
    const { base, ov } = await changed();
    const { planted, result } = await racing(
      () => saveImage(ov, target, { ...SAVE, base }),
      () => fs.existsSync(join(target, 'blobs', 'sha256')),
      () => swap(target),
    );
    expect(planted).toBe(true);
    untouched();
    expect(result).toBeInstanceOf(SaveImageError);
    expect(result).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: changed_(target) });
    expect(fs.existsSync(join(target, 'index.json'))).toBe(false);
    expect(fs.existsSync(join(dir, 'out.moved', 'index.json'))).toBe(false);
  });
});

// With the native addon a file has no name until it is complete and linked by its descriptor
// (O_TMPFILE, src/host/publish.ts): there is no temporary for another process to replace, and
// oci-layout and index.json have one only between two system calls. Without the addon each has
// a random temporary name another process that may write the directory could replace before
// it is given its name: that path is raced here.
describe('saveImage without the native addon: a temporary replaced before it is given its name', () => {
  let lib: typeof import('../../src/index.js');
  beforeAll(async () => {
    vi.stubEnv('LAYERFS_NATIVE_ADDON', 'none');
    vi.resetModules();
    lib = await import('../../src/index.js');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it("a blob's temporary replaced by another process before it is given its name: ERR_TARGET_CHANGED, no index.json", async () => {
    const target = join(dir, 'out');
    const { base, ov } = await changedIn(lib);
    const sha = join(target, 'blobs', 'sha256');
    const temp = takeTemp(sha, () => true);
    const { planted, result } = await racing(
      () => lib.saveImage(ov, target, { ...SAVE, base }),
      temp.ready,
      () => fs.writeFileSync(join(sha, temp.name()), 'not the blob'),
    );
    expect(planted).toBe(true);
    expect(result).toBeInstanceOf(lib.SaveImageError);
    expect((result as InstanceType<typeof lib.SaveImageError>).code).toBe('ERR_TARGET_CHANGED');
    expect(fs.existsSync(join(target, 'index.json'))).toBe(false);
    // The bytes renamed in its place were nobody's verified blob: not left under the digest name.
    expect(checkBlobs(target)).toMatchObject({ temps: [], wrong: [] });
  });

  // The top directory is the one another user may write (the blobs' directories may not be).
  it.each([
    ['oci-layout', (target: string) => !fs.existsSync(join(target, 'oci-layout'))],
    ['index.json', (target: string) => fs.existsSync(join(target, 'oci-layout'))],
  ])('%s: its temporary replaced by a symlink to the victim before it is given its name: ERR_TARGET_CHANGED, the name removed', async (name, stage) => {
    const target = join(dir, 'out');
    const { base, ov } = await changedIn(lib);
    const temp = takeTemp(target, () => stage(target));
    const { planted, result } = await racing(
      () => lib.saveImage(ov, target, { ...SAVE, base }),
      temp.ready,
      () => fs.symlinkSync(victim, join(target, temp.name())),
    );
    expect(planted).toBe(true);
    untouched();
    expect(result).toBeInstanceOf(lib.SaveImageError);
    expect(result).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: join(target, name) });
    expect(fs.existsSync(join(target, 'index.json'))).toBe(false);
    expect(fs.existsSync(join(target, name))).toBe(false);
  });
});

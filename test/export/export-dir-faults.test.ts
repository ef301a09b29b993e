import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExportError, MemoryLayer, Overlay, TarLayer } from '../../src/index.js';
import { TEMP_NAME } from '../../src/host/publish.js';
import { bundleForNode } from '../support/node-bundle.js';
import { scratch } from '../support/scratch.js';
import { snapshot, type FsLike } from '../support/tree.js';
import { faultImage } from './support/fault-image.js';
import { layerToTar } from '../support/to-tar.js';

// exportDir interrupted by a full disk, a read-only remount and SIGKILL: nothing under a final
// name has the wrong content, and a rerun with `overwrite` completes the export (issue 13).
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '../..');
const isRoot = process.getuid?.() === 0;
const { work, fresh } = scratch('lfs-exportdir-faults-');
const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) execFileSync('umount', ['-l', m]);
});
const mountTmpfs = (size: string) => {
  const d = fresh('mnt');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'lfs-test', d]);
  mounts.push(d);
  return d;
};
const overlay = (big = 0) => new Overlay({ lower: [MemoryLayer.fromJSON(faultImage(big), 'L0')] });
const tree = (dir: string) => Object.fromEntries(snapshot(fs as unknown as FsLike, dir));

/** The content every file of the image should have, by path relative to the target. */
function expectedFiles(big = 0): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const ov = overlay(big);
  const walk = (p: string) => {
    for (const name of ov.readdirSync(p)) {
      const child = p === '/' ? `/${name}` : `${p}/${name}`;
      const st = ov.lstatSync(child);
      if (st.isDirectory()) walk(child);
      else if (st.isFile()) files.set(child.slice(1), ov.readFileSync(child) as Buffer);
    }
  };
  walk('/');
  return files;
}

/**
 * What a caller may rely on after an interrupted export: every regular file under a name the
 * image has holds exactly its content; the only other files are temporaries (TEMP_NAME).
 * Returns the temporaries found.
 */
function checkNothingTorn(target: string, expected: Map<string, Buffer>): string[] {
  const temps: string[] = [];
  const found = execFileSync('find', ['.', '-type', 'f'], { cwd: target, encoding: 'utf8' }).split('\n').filter(Boolean).map((p) => p.slice(2));
  for (const rel of found) {
    if (TEMP_NAME.test(rel.slice(rel.lastIndexOf('/') + 1))) {
      temps.push(rel);
      continue;
    }
    expect(expected.has(rel), `${rel} is not in the image`).toBe(true);
    const content = fs.readFileSync(join(target, rel));
    expect(content.equals(expected.get(rel)!), `${rel}: ${content.length} bytes, expected ${expected.get(rel)!.length}`).toBe(true);
  }
  return temps;
}

let reference: ReturnType<typeof tree>;
beforeAll(() => {
  const d = fresh('reference');
  overlay().exportDir(d);
  reference = tree(d);
});

describe.skipIf(!isRoot)('exportDir on a full or read-only filesystem (tmpfs mounts)', () => {
  /**
   * exportDir of `make()` into a 256 KiB tmpfs: an ExportError ENOSPC naming an entry, nothing
   * torn and no temporary left (a caught error removes its temporary: only a killed export
   * leaves one); then, remounted with 4 MiB, overwrite gives `complete()`.
   */
  function fillsTheDisk(make: () => Overlay, complete: () => ReturnType<typeof tree>): void {
    const target = mountTmpfs('256k');
    let error: unknown;
    try {
      make().exportDir(target);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExportError);
    expect((error as ExportError).code).toBe('ENOSPC');
    expect((error as ExportError).path).toMatch(new RegExp(`^${target}/d\\d`));
    expect(checkNothingTorn(target, expectedFiles())).toEqual([]);
    execFileSync('mount', ['-o', 'remount,size=4m', target]);
    make().exportDir(target, { overwrite: true });
    expect(tree(target)).toEqual(complete());
  }

  it('ENOSPC: an ExportError naming the entry, nothing torn; a rerun with overwrite on more room completes it', () => {
    fillsTheDisk(() => overlay(), () => reference);
  });

  it('ENOSPC with content copied by the kernel from a layer file on disk (copy_file_range/sendfile): the same ExportError, nothing torn, no temporary', async () => {
    const tar = join(fresh('tar'), 'L0.tar');
    fs.writeFileSync(tar, await layerToTar(MemoryLayer.fromJSON(faultImage(), 'L0')));
    const layer = await TarLayer.from(tar);
    try {
      // Against the same layer exported with room (a tar's times are whole seconds).
      fillsTheDisk(() => new Overlay({ lower: [layer] }), () => {
        const roomy = fresh('roomy');
        new Overlay({ lower: [layer] }).exportDir(roomy);
        return tree(roomy);
      });
    } finally {
      layer.close();
    }
  });

  it('EROFS: a remount read-only midway stops it with an ExportError naming the entry; after rw again, overwrite completes it', () => {
    const target = mountTmpfs('4m');
    let error: unknown;
    try {
      overlay().exportDir(target, {
        onProgress: ({ entries }) => {
          if (entries === 20) execFileSync('mount', ['-o', 'remount,ro', target]);
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExportError);
    expect((error as ExportError).code).toBe('EROFS');
    expect((error as ExportError).path).toMatch(new RegExp(`^${target}/d\\d/`));
    expect(checkNothingTorn(target, expectedFiles())).toEqual([]);
    expect(() => overlay().exportDir(target, { overwrite: true })).toThrow(expect.objectContaining({ name: 'ExportError', code: 'EROFS' }));
    execFileSync('mount', ['-o', 'remount,rw', target]);
    overlay().exportDir(target, { overwrite: true });
    expect(tree(target)).toEqual(reference);
  });
});

describe('exportDir killed with SIGKILL', () => {
  const BIG = 48 * 2 ** 20;
  let child: string;
  beforeAll(async () => {
    child = join(work, 'export-child.mjs');
    await bundleForNode(join(HERE, 'support/export-child.ts'), child);
  });

  /**
   * Runs the child export (`addon: false`: without the native addon); `killWhen` may kill it
   * from here, given its pid. Resolves with its exit signal.
   */
  const runChild = (target: string, args: { big?: number; killAfter?: number; overwrite?: boolean; addon?: boolean }, killWhen?: (kill: () => void, pid: number) => void) => new Promise<NodeJS.Signals | null>((resolve) => {
    const p = spawn(process.execPath, [child, target, String(args.big ?? 0), String(args.killAfter ?? 0), args.overwrite ? '1' : '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LAYERFS_NATIVE_ADDON: args.addon === false ? 'none' : join(REPO, 'native/build/Release/layerfs_host.node') },
    });
    p.stdout!.once('data', () => killWhen?.(() => p.kill('SIGKILL'), p.pid!));
    p.on('exit', (_code, signal) => resolve(signal));
  });

  for (const killAfter of [1, 9, 30, 55]) {
    it(`after entry ${killAfter}: nothing torn, and a rerun with overwrite completes it`, async () => {
      const target = fresh('killed');
      expect(await runChild(target, { killAfter })).toBe('SIGKILL');
      checkNothingTorn(target, expectedFiles());
      // Without overwrite, the leftovers are refused by name rather than written over.
      expect(() => overlay().exportDir(target, { allowNonEmpty: true })).toThrow(expect.objectContaining({ name: 'ExportError', code: 'EEXIST' }));
      overlay().exportDir(target, { overwrite: true });
      expect(tree(target)).toEqual(reference);
    });
  }

  /** Polls every millisecond until `found()`, then kills. */
  const killWhenFound = (found: () => boolean) => (kill: () => void) => {
    const poll = setInterval(() => {
      if (!found()) return;
      clearInterval(poll);
      kill();
    }, 1);
  };
  /** The paths the files `pid` holds open lead to (readlink of /proc/PID/fd/*). */
  const openFiles = (pid: number) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      });
    } catch {
      return [];
    }
  };

  it('while a large file is being written: it has no name until complete, and nothing is left of it', async () => {
    const target = fresh('killed');
    const signal = await runChild(target, { big: BIG }, (kill, pid) => {
      // The 48 MiB file is written unnamed (O_TMPFILE): the child holds "d2/#INODE (deleted)".
      killWhenFound(() => openFiles(pid).some((p) => p.startsWith(`${target}/d2/#`) && p.endsWith('(deleted)')))(kill);
    });
    expect(signal).toBe('SIGKILL');
    expect(checkNothingTorn(target, expectedFiles(BIG))).toEqual([]);
    expect(fs.existsSync(join(target, 'd2/big'))).toBe(false);
    overlay(BIG).exportDir(target, { overwrite: true });
    expect(fs.statSync(join(target, 'd2/big')).size).toBe(BIG);
  });

  it('without the native addon (temporary names): its temporary is left as the sign, never a short file under its name; overwrite removes it', async () => {
    const target = fresh('killed');
    const signal = await runChild(target, { big: BIG, addon: false }, killWhenFound(() => {
      try {
        return fs.readdirSync(join(target, 'd2')).some((x) => TEMP_NAME.test(x));
      } catch {
        return false;
      }
    }));
    expect(signal).toBe('SIGKILL');
    const temps = checkNothingTorn(target, expectedFiles(BIG));
    expect(temps).toHaveLength(1);
    expect(fs.existsSync(join(target, 'd2/big'))).toBe(false);
    overlay(BIG).exportDir(target, { overwrite: true });
    expect(checkNothingTorn(target, expectedFiles(BIG))).toEqual([]);
    expect(fs.statSync(join(target, 'd2/big')).size).toBe(BIG);
  });
});

describe('exportDir overwrite', () => {
  it('never follows a symlink found in the target: it is replaced, and what it points to is untouched', () => {
    const outside = fresh('outside');
    fs.writeFileSync(join(outside, 'keep'), 'keep');
    const target = fresh('target');
    fs.symlinkSync(outside, join(target, 'd0'));
    fs.symlinkSync(join(outside, 'keep'), join(target, 'd1'));
    fs.mkdirSync(join(target, 'd2'));
    fs.symlinkSync(join(outside, 'keep'), join(target, 'd2', 'f0'));
    fs.writeFileSync(join(target, 'd2', `.layerfs-tmp.${'0'.repeat(32)}`), 'leftover');
    overlay().exportDir(target, { overwrite: true });
    expect(tree(target)).toEqual(reference);
    expect(fs.readdirSync(outside)).toEqual(['keep']);
    expect(fs.readFileSync(join(outside, 'keep'), 'utf8')).toBe('keep');
  });

  it('removes only the temporaries it makes (regular files named .layerfs-tmp.<32 hex digits>), at the root and in kept directories: never a directory or another name', () => {
    const target = fresh('target');
    overlay().exportDir(target);
    const temp = (c: string) => `.layerfs-tmp.${c.repeat(32)}`;
    fs.writeFileSync(join(target, temp('a')), 'leftover at the root');
    fs.writeFileSync(join(target, 'd1', temp('b')), 'leftover in a kept directory');
    const kept = [join(target, temp('c')), join(target, 'd1', temp('d'))];
    for (const d of kept) {
      fs.mkdirSync(d);
      fs.writeFileSync(join(d, 'user-data'), 'mine');
    }
    const others = [join(target, '.layerfs-tmp.1234.5'), join(target, `${temp('e')}.bak`), join(target, 'd1', '.layerfs-tmp.')];
    for (const f of others) fs.writeFileSync(f, 'not a temporary of layerfs');
    overlay().exportDir(target, { overwrite: true });
    expect(fs.existsSync(join(target, temp('a')))).toBe(false);
    expect(fs.existsSync(join(target, 'd1', temp('b')))).toBe(false);
    for (const d of kept) expect(fs.readFileSync(join(d, 'user-data'), 'utf8')).toBe('mine');
    for (const f of others) expect(fs.readFileSync(f, 'utf8')).toBe('not a temporary of layerfs');
  });

  it('a kept directory is mode 0700 while it is filled (no other user writes in it meanwhile), its own mode again once complete', () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/shared': { type: 'directory', mode: 0o1777 }, '/shared/a': 'a', '/shared/b': 'b' }, 'L0')] });
    const target = fresh('target');
    ov.exportDir(target);
    const modes: number[] = [];
    ov.exportDir(target, { overwrite: true, onProgress: ({ path }) => void (/^shared\/.$/.test(path) && modes.push(fs.statSync(join(target, 'shared')).mode & 0o7777)) });
    expect(modes).toEqual([0o700, 0o700]);
    expect(fs.statSync(join(target, 'shared')).mode & 0o7777).toBe(0o1777);
  });
});

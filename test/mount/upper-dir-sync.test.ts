import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Overlay } from '../../src/export/overlay.js';
import { DirectoryLayer } from '../../src/layer/directory-layer.js';
import { fuseOps } from '../../src/mount/fuse-ops.js';
import { UpperDir } from '../../src/mount/upper-dir.js';
import { DirHandle } from '../../src/host/dir-handle.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';

/**
 * Durability of the upper directory on disk, as the kernel overlay keeps it: a copy-up is
 * synced before it is renamed into place (ovl_copy_up_file's vfs_fsync), and fsync(2) on a
 * merged file syncs the upper file (ovl_fsync). Seen from outside through cachestat(2)
 * (Linux 6.5): the number of dirty page-cache pages of the file in U. The engine is driven
 * through the FUSE operations table the mount uses (no FUSE mount needed); the kernel side
 * through a real `mount -t overlay`.
 */
const ok = requireKernelOverlay('the upper directory sync comparison (test/mount/upper-dir-sync)');

/** cachestat(2) of `path`: [cached pages, dirty pages]. */
function cachestat(path: string): [number, number] {
  const out = execFileSync('python3', ['-c', `
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
out = ctypes.create_string_buffer(40)
if libc.syscall(451, fd, ctypes.c_char_p(struct.pack('QQ', 0, 0)), out, 0) != 0: sys.exit('cachestat: errno %d' % ctypes.get_errno())
print(*struct.unpack('QQQQQ', out.raw)[:2])
`, path]).toString().trim().split(' ').map(Number);
  return [out[0]!, out[1]!];
}

const BYTES = 400_000;

/**
 * cachestat of `path` after `write`, written again (the same bytes) while background
 * writeback (a loaded machine's) cleaned the pages before they were counted: up to 10 times.
 */
async function dirtied(write: () => void | Promise<void>, path: string): Promise<[number, number]> {
  let st: [number, number] = [0, 0];
  for (let i = 0; i < 10 && st[1] <= BYTES / 4096 / 2; i++) {
    await write();
    st = cachestat(path);
  }
  return st;
}
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    try {
      execFileSync('umount', [join(d, 'm')], { stdio: 'ignore' });
    } catch {
      // not mounted
    }
    fs.rmSync(d, { recursive: true, force: true });
  }
});

/** A lower directory with one file of BYTES random bytes, synced, and empty U, W, M beside it. Not on tmpfs: /var/tmp. */
function setup(): string {
  const d = fs.mkdtempSync('/var/tmp/lfs-upsync-');
  dirs.push(d);
  for (const s of ['l', 'u', 'w', 'm']) fs.mkdirSync(join(d, s));
  fs.writeFileSync(join(d, 'l/f'), Buffer.alloc(BYTES, 7));
  execFileSync('sync', [join(d, 'l/f')]);
  return d;
}

/** The engine with U and W on disk, and its FUSE operations, promisified as the kernel would call them. */
function engine(d: string) {
  const lower = DirectoryLayer.open(join(d, 'l'), { name: 'l' });
  const upper = UpperDir.open(join(d, 'u'), join(d, 'w'));
  const ov = new Overlay({ lower: [lower], upper: upper.volume });
  const mirror = upper.attach(ov);
  const internal: string[] = [];
  const ops = fuseOps(ov, { upperDir: mirror, onInternalError: (op, p, e) => void internal.push(`${op} ${p}: ${String(e)}`), onUnsupported: () => {} });
  const callback = <T>(fn: (cb: (err: number, v?: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, v) => (err < 0 ? reject(new Error(`errno ${-err}`)) : resolve((v ?? err) as T))));
  return {
    open: (p: string, flags: number) => callback<number>((cb) => ops.open!(p, flags, cb as never)),
    write: (p: string, fd: number, buf: Buffer) => callback<number>((cb) => ops.write!(p, fd, buf, buf.length, 0, cb as never)),
    fsync: (p: string, fd: number) => callback<void>((cb) => ops.fsync!(p, false, fd, cb as never)),
    truncate: (p: string, size: number) => callback<void>((cb) => ops.truncate!(p, size, cb as never)),
    unlink: (p: string) => callback<void>((cb) => ops.unlink!(p, cb as never)),
    rename: (from: string, to: string) => callback<void>((cb) => ops.rename!(from, to, cb as never)),
    release: (p: string, fd: number) => callback<void>((cb) => ops.release!(p, fd, cb as never)),
    internal,
    close: () => {
      upper.close();
      lower.close();
    },
  };
}

/** `fn` on the engine over a fresh setup() whose /f has been copied up (opened for writing, released); the engine closed after. */
async function withCopiedUp(fn: (d: string, e: ReturnType<typeof engine>) => Promise<void>): Promise<void> {
  const d = setup();
  const e = engine(d);
  try {
    await e.release('/f', await e.open('/f', fs.constants.O_RDWR));
    await fn(d, e);
  } finally {
    e.close();
  }
}

describe.runIf(ok)('the upper directory on disk is synced where the kernel syncs it', () => {
  it('a copy-up is on disk before it is in place, and fsync(2) syncs the upper file', async () => {
    // The kernel: open for writing copies up (synced), a write dirties, fsync cleans.
    const k = setup();
    execFileSync('mount', ['-t', 'overlay', 'overlay', join(k, 'm'), '-o', `lowerdir=${join(k, 'l')},upperdir=${join(k, 'u')},workdir=${join(k, 'w')}`]);
    const kfd = fs.openSync(join(k, 'm/f'), 'r+');
    const kernelCopyUp = cachestat(join(k, 'u/f'));
    const kernelWritten = await dirtied(() => void fs.writeSync(kfd, Buffer.alloc(BYTES, 9), 0, BYTES, 0), join(k, 'u/f'));
    fs.fsyncSync(kfd);
    const kernelSynced = cachestat(join(k, 'u/f'));
    fs.closeSync(kfd);

    const d = setup();
    const e = engine(d);
    try {
      const fd = await e.open('/f', fs.constants.O_RDWR);
      const copyUp = cachestat(join(d, 'u/f'));
      const written = await dirtied(async () => void (await e.write('/f', fd, Buffer.alloc(BYTES, 9))), join(d, 'u/f'));
      await e.fsync('/f', fd);
      const synced = cachestat(join(d, 'u/f'));
      await e.release('/f', fd);
      // The write must have dirtied pages on both sides, or the test shows nothing.
      expect(kernelWritten[1]).toBeGreaterThan(BYTES / 4096 / 2);
      expect(written[1]).toBeGreaterThan(BYTES / 4096 / 2);
      // Copy-up: the kernel leaves (almost) nothing dirty (observed: at most one page).
      expect(kernelCopyUp[1]).toBeLessThanOrEqual(1);
      expect(copyUp[1]).toBeLessThanOrEqual(Math.max(1, kernelCopyUp[1]));
      expect(kernelSynced[1]).toBe(0);
      expect(synced[1]).toBe(0);
    } finally {
      e.close();
    }
  }, 60_000);
});

/**
 * The kernel never leaves U without both the upper file and its whiteout: unlink of a
 * copied-up lower file makes the whiteout in the workdir and exchanges it for the file
 * (ovl_remove_and_whiteout), rename over a name is one rename(2). Shown by making the
 * whiteout's mknod fail (as a full disk or a crash at that point would stop it): the name
 * must still be in U, so that the lower file cannot come back at the next mount.
 */
describe.runIf(ok)('a change of U is one step on disk where the kernel\'s is', () => {
  it('unlink of a copied-up lower file: a failed whiteout leaves the file in U, not nothing', () =>
    withCopiedUp(async (d, e) => {
      const mknod = DirHandle.prototype.mknod;
      try {
        expect(fs.lstatSync(join(d, 'u/f')).isFile()).toBe(true);
        DirHandle.prototype.mknod = () => {
          throw Object.assign(new Error('ENOSPC: no space left on device, mknodat'), { code: 'ENOSPC' });
        };
        // EIO, the daemon told why.
        await expect(e.unlink('/f')).rejects.toThrow('errno 5');
        expect(e.internal.join('\n')).toMatch(/ENOSPC/);
        DirHandle.prototype.mknod = mknod;
        // Either the file or a whiteout: the lower f stays hidden or overridden.
        expect(fs.lstatSync(join(d, 'u/f'), { throwIfNoEntry: false })).toBeDefined();
      } finally {
        DirHandle.prototype.mknod = mknod;
      }
    }));

  it('unlink of a copied-up lower file leaves a 0/0 whiteout in U and nothing in the workdir', () =>
    withCopiedUp(async (d, e) => {
      await e.unlink('/f');
      const st = fs.lstatSync(join(d, 'u/f'));
      expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
      expect(fs.readdirSync(join(d, 'w/work'))).toEqual([]);
    }));
});

describe.runIf(ok)('truncate(2) by path cuts or extends the file in U in place, as the kernel', () => {
  it('a copied-up file extended by path stays sparse in U, as the kernel leaves it', async () => {
    const GROWN = 16 << 20;
    const k = setup();
    execFileSync('mount', ['-t', 'overlay', 'overlay', join(k, 'm'), '-o', `lowerdir=${join(k, 'l')},upperdir=${join(k, 'u')},workdir=${join(k, 'w')}`]);
    fs.closeSync(fs.openSync(join(k, 'm/f'), 'r+'));
    fs.truncateSync(join(k, 'm/f'), GROWN);
    execFileSync('sync', [join(k, 'u/f')]);
    const kernel = fs.statSync(join(k, 'u/f'));
    await withCopiedUp(async (d, e) => {
      await e.truncate('/f', GROWN);
      execFileSync('sync', [join(d, 'u/f')]);
      const ours = fs.statSync(join(d, 'u/f'));
      expect([ours.size, kernel.size]).toEqual([GROWN, GROWN]);
      // The kernel's: the copied-up bytes' blocks only (a hole after them).
      expect(kernel.blocks * 512).toBeLessThan(GROWN / 4);
      expect(ours.blocks).toBeLessThanOrEqual(kernel.blocks);
      const back = fs.readFileSync(join(d, 'u/f'));
      expect(back.subarray(0, BYTES).equals(Buffer.alloc(BYTES, 7)) && back.subarray(BYTES).every((b) => b === 0)).toBe(true);
    });
  }, 60_000);
});

describe.runIf(ok)('a file of U swapped for a fifo behind the mount\'s back', () => {
  it('a write-through open or truncate fails (EIO), it does not wait for a reader forever', () =>
    withCopiedUp(async (d, e) => {
      fs.rmSync(join(d, 'u/f'));
      execFileSync('mkfifo', [join(d, 'u/f')]);
      await expect(e.truncate('/f', 10)).rejects.toThrow('errno 5');
      await expect(e.open('/f', fs.constants.O_RDWR)).rejects.toThrow('errno 5');
      expect(e.internal.join('\n')).toMatch(/ENXIO|not of the type/);
    }), 20_000);
});

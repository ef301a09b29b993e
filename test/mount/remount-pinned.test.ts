import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mountFuse, type FuseStat } from '../../src/mount/fuse-binding.js';
import { isMountpoint } from '../../src/mount/mount-table.js';
import { requireFuse } from './fuse-daemon.js';

/**
 * As root, mountFuse clears fusermount's nosuid,nodev with a bind remount. That remount must
 * reach the FUSE mount it made, not whatever the mountpoint's path names by then: a user who
 * owns a directory on the path can swap it for a symlink to another mount (their own FUSE
 * mount, mounted nosuid,nodev because its daemon may claim any set-user-ID file) once the
 * FUSE mount is made. Here the swap happens in the daemon's first getattr of its root, which
 * comes after the mount and before anything else looks at it; the other mount is a tmpfs
 * mounted nosuid,nodev, whose flags must stay as they were.
 */
const root = process.getuid?.() === 0;
if (!root) console.error('\n*** NOT ROOT: the remount test (test/mount/remount-pinned) did not run ***\n');
if (!root && process.env.CI) describe('remount', () => it('runs as root', () => { throw new Error('the remount test needs root'); }));
const ok = root && requireFuse('the remount test (test/mount/remount-pinned)');

const flagsOf = (mnt: string) => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mnt)?.split(' ')[5];
const dirStat = (): FuseStat => ({ mode: 0o40755, uid: 0, gid: 0, size: 0, dev: 0, nlink: 2, ino: 1, rdev: 0, blksize: 4096, blocks: 0, atime: 0, mtime: 0, ctime: 0 });

describe.runIf(ok)('mountFuse as root: the suid,dev remount', () => {
  const undo: Array<() => void> = [];
  afterEach(() => {
    for (const f of undo.splice(0).reverse()) {
      try {
        f();
      } catch {
        // best effort: the next step still runs
      }
    }
  });

  it('reaches the mount it made, not another mount the path was swapped to', async () => {
    const work = fs.mkdtempSync(join(tmpdir(), 'layerfs-remount-'));
    undo.push(() => fs.rmSync(work, { recursive: true, force: true }));
    fs.mkdirSync(join(work, 'user/mnt'), { recursive: true });
    fs.mkdirSync(join(work, 'other/mnt'), { recursive: true });
    const other = join(work, 'other/mnt');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev', 'tmpfs', other]);
    undo.push(() => execFileSync('umount', ['-l', other], { stdio: 'pipe' }));
    const before = flagsOf(other);
    expect(before).toContain('nosuid');
    let swapped = false;
    const getattr = (path: string, cb: (err: number, st?: FuseStat) => void) => {
      if (path === '/' && !swapped) {
        swapped = true;
        fs.renameSync(join(work, 'user'), join(work, 'user.moved'));
        fs.symlinkSync(join(work, 'other'), join(work, 'user'));
      }
      cb(path === '/' ? 0 : -2, path === '/' ? dirStat() : undefined);
    };
    const moved = join(work, 'user.moved/mnt');
    undo.push(() => {
      if (isMountpoint(moved)) execFileSync('fusermount3', ['-uz', moved], { stdio: 'pipe' });
    });
    const session = await mountFuse(join(work, 'user/mnt'), { getattr }, { readOnly: false }).catch((e: Error) => e);
    if (!(session instanceof Error)) undo.push(() => void session.unmount().catch(() => {}));
    expect(swapped).toBe(true);
    // The tmpfs the path led to by then keeps its nosuid,nodev.
    expect(flagsOf(other)).toBe(before);
    // The FUSE mount is either suid,dev (the remount reached it) or gone with an error.
    if (session instanceof Error) expect(isMountpoint(moved)).toBe(false);
    else expect(flagsOf(moved)?.split(',').filter((f) => f === 'nosuid' || f === 'nodev')).toEqual([]);
  }, 30_000);
});

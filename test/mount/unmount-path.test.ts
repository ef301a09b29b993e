import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mountFuse, type FuseStat } from '../../src/mount/fuse-binding.js';
import { isMountpoint } from '../../src/mount/mount-table.js';
import { requireFuse } from './fuse-daemon.js';

/**
 * The binding unmounts by running `fusermount -uz "PATH"` through a shell (its static unmount,
 * JSON.stringify for quoting), where `$(...)` and backquotes in PATH are run: a mountpoint
 * whose name holds them (a directory any user may name, reached through a symlink that
 * mountOverlay's realpath resolves) ran that command, as root. The unmount must take the path
 * as one argument, never through a shell.
 */
const ok = requireFuse('the unmount path test (test/mount/unmount-path)');
const dirStat = (): FuseStat => ({ mode: 0o40755, uid: 0, gid: 0, size: 0, dev: 0, nlink: 2, ino: 1, rdev: 0, blksize: 4096, blocks: 0, atime: 0, mtime: 0, ctime: 0 });

describe.runIf(ok)('mountFuse: unmount of a mountpoint whose name a shell would expand', () => {
  let work = '';
  let mnt = '';
  afterEach(async () => {
    delete process.env.LAYERFS_TEST_MARKER;
    // A mount left by a failed unmount: detached asynchronously (this process answers its lookups).
    if (mnt && isMountpoint(mnt)) await new Promise((r) => execFile('fusermount3', ['-uz', mnt], r));
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('unmounts it, and runs nothing its name says', async () => {
    work = fs.mkdtempSync(join(tmpdir(), 'layerfs-unmount-'));
    const marker = join(work, 'ran');
    // No slash may be in a name: the marker's path comes from the environment the shell would inherit.
    process.env.LAYERFS_TEST_MARKER = marker;
    mnt = join(work, 'm$(touch $LAYERFS_TEST_MARKER)`touch $LAYERFS_TEST_MARKER.2`');
    fs.mkdirSync(mnt);
    const session = await mountFuse(mnt, { getattr: (p, cb) => cb(p === '/' ? 0 : -2, p === '/' ? dirStat() : undefined) }, { readOnly: false });
    expect(isMountpoint(mnt)).toBe(true);
    await session.unmount();
    expect(isMountpoint(mnt)).toBe(false);
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(`${marker}.2`)).toBe(false);
  }, 30_000);
});

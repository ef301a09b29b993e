import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { basename, dirname } from 'node:path';
import { mountIdOf } from '../host/dir-handle.js';

/**
 * As root, clears the nosuid,nodev that fusermount put on a FUSE mount (libfuse 2 never passes
 * `suid` or `dev` on to it), as the kernel's overlay is neither: a device node of the image
 * would not open (EACCES) and a set-user-ID program would not take its owner.
 *
 * The remount must reach the mount that was made and nothing else. mount(8) given the
 * mountpoint's path looks it up again, and a user who owns a directory on that path can, once
 * the FUSE mount is made, swap it for a symlink to their own FUSE mount (nosuid,nodev because
 * its daemon may claim any set-user-ID file): remounted suid, it gives them root. So the
 * mountpoint's parent is held open from before the mount (`pinParent`), the mount is opened
 * through it without following a symlink, the mount the handle is on (fdinfo's `mnt_id`) must
 * be a `fuse.layerfs` mount made by root (`user_id=0`) without `allow_other` (with it, any
 * user's new files are owned 0:0, the binding giving no caller uid: a set-user-ID one
 * included), and mount(8) gets that handle, not a path (`--no-canonicalize`, /proc/PID/fd/N).
 * A mount with `allow_other` is left nosuid,nodev (not an error); any other mismatch is
 * returned as the reason, and the caller unmounts.
 */
export function pinParent(mountpoint: string): number {
  return fs.openSync(dirname(mountpoint), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
}

/** Remounts the mount at `parentFd`/basename(mountpoint) suid,dev; undefined when done, else why not. */
export async function clearNosuid(parentFd: number, mountpoint: string): Promise<string | undefined> {
  // The daemon answers this lookup: an asynchronous open (the thread pool), never a sync one.
  const root = await fs.promises.open(`/proc/self/fd/${parentFd}/${basename(mountpoint)}`, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    const why = notOwnMount(root.fd);
    if (why === ALLOW_OTHER) return undefined;
    if (why) return why;
    return await new Promise<string | undefined>((resolve) =>
      execFile('mount', ['--no-canonicalize', '-o', 'remount,bind,suid,dev', `/proc/${process.pid}/fd/${root.fd}`], (e, _out, err) => resolve(e ? `${String(err).trim() || e.message}` : undefined)),
    );
  } finally {
    await root.close();
  }
}

/** Every user reaches the mount: set-user-ID files they create would be owned 0:0, so it stays nosuid,nodev. */
const ALLOW_OTHER = 'allow_other';

/** Why the mount `fd` is on is not one to make suid,dev (proc(5): fdinfo's mnt_id, mountinfo's fields), or undefined. */
function notOwnMount(fd: number): string | undefined {
  const id = mountIdOf(fd);
  const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[0] === String(id));
  if (id < 0 || line === undefined) return 'its mount is not in /proc/self/mountinfo';
  const [, after] = line.split(' - ');
  const [fstype, , superOptions = ''] = (after ?? '').split(' ');
  const opts = superOptions.split(',');
  if (line.split(' ')[3] !== '/' || fstype !== 'fuse.layerfs' || !opts.includes('user_id=0')) return 'the mountpoint no longer leads to the layerfs mount made (the path changed)';
  if (opts.includes('allow_other')) return ALLOW_OTHER;
  return undefined;
}

import { realpathSync, statSync } from 'node:fs';
import type { Overlay } from '../export/overlay.js';
import { mountFuse, type FuseOps } from './fuse-binding.js';
import { fuseOps, READ_ONLY_OPS, type FuseOpsOptions } from './fuse-ops.js';
import { MountError } from './mount-error.js';
import { isMountpoint } from './mount-table.js';

export interface MountOverlayOptions extends FuseOpsOptions {
  /** The kernel's lower-only mount: MS_RDONLY, every write refused with EROFS. */
  readOnly?: boolean;
  /** libfuse's generic mount flags (fuse-binding.ts). */
  mountFlags?: readonly string[];
}

/** An overlay served at a mountpoint until it is unmounted, here or from outside. */
export interface MountedOverlay {
  readonly mountpoint: string;
  /**
   * Resolves when the mount is gone: `'unmount'` after `unmount()`, `'external'` when someone
   * else detached it (`fusermount -u`, `umount`).
   */
  readonly ended: Promise<'unmount' | 'external'>;
  /** Detaches the mount (lazily, as `fusermount -uz`: a busy mount goes once its last user does). */
  unmount(): Promise<void>;
}

/** How often the mount table is read to see an unmount made from outside (the binding says nothing of it). */
const WATCH_MS = 200;

/** Mounts `ov` at `mountpoint`, an existing directory that is not a mountpoint already. */
export async function mountOverlay(ov: Overlay, mountpoint: string, options: MountOverlayOptions): Promise<MountedOverlay> {
  let real: string;
  try {
    real = realpathSync(mountpoint);
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new MountError('ERR_MOUNT_FAILED', `${mountpoint}: the mountpoint must be an existing directory (${(e as Error).message})`, { cause: e });
  }
  if (isMountpoint(real)) throw new MountError('ERR_MOUNT_FAILED', `${mountpoint}: something is mounted there already (a dead layerfs mount is removed by fusermount -uz ${mountpoint})`);
  const all = fuseOps(ov, options);
  const ops: Partial<FuseOps> = options.readOnly ? Object.fromEntries(READ_ONLY_OPS.map((k) => [k, all[k]])) : all;
  const session = await mountFuse(real, ops, { readOnly: options.readOnly === true, ...(options.mountFlags ? { mountFlags: options.mountFlags } : {}) });
  let requested = false;
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<'unmount' | 'external'>((resolve) => {
    timer = setInterval(() => {
      if (isMountpoint(real)) return;
      clearInterval(timer);
      if (requested) return resolve('unmount');
      // Gone from outside: the binding's loop is still held; its unmount lets it go.
      session.unmount().then(() => resolve('external'), () => resolve('external'));
    }, WATCH_MS);
  });
  return {
    mountpoint: real,
    ended,
    async unmount() {
      requested = true;
      await session.unmount();
      await ended;
    },
  };
}

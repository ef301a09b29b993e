import { LayerfsError } from '../util/errors.js';

/**
 * A FUSE mount cannot be made or ended. Stable codes:
 * - `ERR_FUSE_UNAVAILABLE`: the binding (`@cocalc/fuse-native`, an optional dependency built
 *   against libfuse-dev) is not installed or not built;
 * - `ERR_MOUNT_FAILED`: libfuse or the kernel refused the mount (no /dev/fuse, not root and no
 *   fusermount, the mountpoint missing or in use);
 * - `ERR_UNMOUNT_FAILED`: the mount could not be detached (busy);
 * - `ERR_UPPERDIR`: a change could not be made in the upper directory on disk (upperdir=), which
 *   is then out of step with the mount (the FUSE call that made it fails EIO);
 * - `ERR_MOUNT_OPTION`: an option of the `mount -t fuse.layerfs` form that is not understood or
 *   cannot be honoured, named in the message.
 */
export type MountErrorCode = 'ERR_FUSE_UNAVAILABLE' | 'ERR_MOUNT_FAILED' | 'ERR_UNMOUNT_FAILED' | 'ERR_UPPERDIR' | 'ERR_MOUNT_OPTION';

export class MountError extends LayerfsError {
  declare readonly code: MountErrorCode;

  constructor(code: MountErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'MountError';
  }
}

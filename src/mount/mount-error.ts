import { LayerfsError } from '../util/errors.js';

/**
 * A FUSE mount cannot be made or ended. Stable codes:
 * - `ERR_FUSE_UNAVAILABLE`: the binding (`@cocalc/fuse-native`, an optional dependency built
 *   against libfuse-dev) is not installed or not built;
 * - `ERR_MOUNT_FAILED`: libfuse or the kernel refused the mount (no /dev/fuse, not root and no
 *   fusermount, the mountpoint missing or in use);
 * - `ERR_UNMOUNT_FAILED`: the mount could not be detached (busy).
 */
export type MountErrorCode = 'ERR_FUSE_UNAVAILABLE' | 'ERR_MOUNT_FAILED' | 'ERR_UNMOUNT_FAILED';

export class MountError extends LayerfsError {
  declare readonly code: MountErrorCode;

  constructor(code: MountErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'MountError';
  }
}

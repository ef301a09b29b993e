import { freemem, totalmem } from 'node:os';

/** OVERLAYFS_SUPER_MAGIC (include/uapi/linux/magic.h): what statfs(2) reports as f_type on a kernel overlay mount. */
export const OVERLAYFS_SUPER_MAGIC = 0x794c7630;

const BLOCK = 4096;

/**
 * Node's `fs.StatFs` (statfs(2) fields). An overlay in memory has no disk: its numbers are
 * those of a tmpfs mounted without limits, which is what it is: f_type the overlay's magic
 * (ovl_statfs reports it over the upper filesystem's numbers), 4096-byte blocks, `blocks` the
 * machine's memory and `bfree`/`bavail` its free memory (os.totalmem, os.freemem), and
 * `files`/`ffree` 0, as filesystems without an inode table report them (btrfs).
 */
export class StatFs<T extends number | bigint = number> {
  type: T;
  bsize: T;
  blocks: T;
  bfree: T;
  bavail: T;
  files: T;
  ffree: T;

  constructor(bigint: boolean) {
    const n = (v: number) => (bigint ? BigInt(v) : v) as T;
    const free = Math.floor(freemem() / BLOCK);
    this.type = n(OVERLAYFS_SUPER_MAGIC);
    this.bsize = n(BLOCK);
    this.blocks = n(Math.floor(totalmem() / BLOCK));
    this.bfree = n(free);
    this.bavail = n(free);
    this.files = n(0);
    this.ffree = n(0);
  }
}

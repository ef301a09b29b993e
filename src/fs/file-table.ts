import { constants } from 'node:fs';
import type { MemfsNode } from '../util/memfs-types.js';
import type { ObjectInfo } from '../overlay/engine.js';
import type { Layer } from '../layer/layer.js';
import type { LayerEntry } from '../layer/entry.js';
import { fail } from '../overlay/errno.js';

/**
 * An open file description. A descriptor opened for reading on a lower file reads that
 * layer's content and keeps doing so after another caller copies the file up, as with the
 * kernel, where it still refers to the lower inode.
 */
export interface OpenFile {
  path: string;
  flags: number;
  position: number;
  /** The upper inode, for files opened for writing or living in the upper layer. */
  node?: MemfsNode;
  /**
   * The lower file, for read-only descriptors of lower files: read by position from its
   * layer (Layer.readAt), never loaded whole.
   */
  lower?: { layer: Layer; entry: LayerEntry };
  /** How to stat it (fstat). */
  info: () => ObjectInfo;
  isDirectory: boolean;
}

export function readable(f: OpenFile): boolean {
  return (f.flags & 3) !== constants.O_WRONLY;
}

export function writable(f: OpenFile): boolean {
  return (f.flags & 3) !== constants.O_RDONLY;
}

export class FileTable {
  private readonly files = new Map<number, OpenFile>();
  private next = 3;

  add(file: OpenFile): number {
    const fd = this.next++;
    this.files.set(fd, file);
    return fd;
  }

  get(fd: number): OpenFile {
    const f = this.files.get(fd);
    if (!f) fail('EBADF');
    return f;
  }

  close(fd: number): void {
    if (!this.files.delete(fd)) fail('EBADF');
  }
}

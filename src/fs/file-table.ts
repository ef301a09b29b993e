import { fail } from '../overlay/errno.js';
import type { OpenFile } from '../overlay/open-file.js';

/**
 * The overlay's descriptors: numbers for the open file descriptions open(2) made
 * (overlay/open-file.ts). Numbers start at 3 (an overlay has no stdio) and are not reused.
 */
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
    const f = this.files.get(fd);
    if (!f) fail('EBADF');
    this.files.delete(fd);
    f.release?.();
  }
}

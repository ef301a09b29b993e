import * as fs from 'node:fs';
import { fileHeader } from './to-tar.js';

/**
 * Writes an uncompressed tar of one file `name` of `size` bytes to `path` without writing its
 * content: the header, then a hole (ftruncate), so a file of gigabytes costs no disk and no
 * time to make. `marks` puts text at offsets of the file's content (the rest reads as zeros).
 * Returns where the content starts in the tar.
 */
export async function writeSparseTar(path: string, name: string, size: number, marks: Array<[number, string]> = []): Promise<number> {
  const header = await fileHeader(name, size);
  const padded = Math.ceil(size / 512) * 512;
  const fd = fs.openSync(path, 'w');
  try {
    fs.writeSync(fd, header, 0, 512, 0);
    for (const [at, text] of marks) fs.writeSync(fd, Buffer.from(text), 0, Buffer.byteLength(text), 512 + at);
    fs.ftruncateSync(fd, 512 + padded + 1024); // the two zero end blocks
  } finally {
    fs.closeSync(fd);
  }
  return 512;
}

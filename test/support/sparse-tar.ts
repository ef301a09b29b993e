import * as fs from 'node:fs';
import { packTar, patchHeader } from './to-tar.js';

/**
 * Writes an uncompressed tar of one file `name` of `size` bytes to `path` without writing its
 * content: the header, then a hole (ftruncate), so a file of gigabytes costs no disk and no
 * time to make. `marks` puts text at offsets of the file's content (the rest reads as zeros).
 * Returns where the content starts in the tar.
 */
export async function writeSparseTar(path: string, name: string, size: number, marks: Array<[number, string]> = []): Promise<number> {
  const empty = await packTar([{ header: { name }, body: '' }]);
  const header = patchHeader(empty.subarray(0, 512), 0, (block) => {
    block.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1'); // ustar size: 11 octal digits
  });
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

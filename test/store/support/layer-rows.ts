import * as fs from 'node:fs';
import type { Layer } from '../../../src/layer/layer.js';

/** A layer's entries as comparable rows, with each file's content and xattrs. */
export const rows = (l: Layer) => [...l.entries].map(([path, e]) => [path, e.type, e.mode, e.uid, e.gid, e.mtimeMs, e.size, e.linkTarget, e.inode, e.nlink, JSON.stringify([...(e.xattrs ?? new Map())].map(([k, v]) => [k, Buffer.from(v).toString('hex')])), e.type === 'file' ? l.read(e).toString('base64') : null]);

/** Flips one bit of the byte at `at` in the file, in place (its size stays). */
export const flip = (path: string, at: number) => {
  const fd = fs.openSync(path, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0]! ^= 1;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
};

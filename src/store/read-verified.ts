import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { ParsedDigest } from './digest.js';
import { ioError, StoreError } from './errors.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/**
 * A stored blob read whole and checked against its digest before it is returned: opened
 * without following a symlink or blocking on a FIFO, only a regular file, at most `maxBytes`.
 * A blob changed on disk since it was stored is ERR_STORE_DIGEST_MISMATCH, never bytes.
 */
export function readVerified(path: string, d: ParsedDigest, maxBytes: number, where: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StoreError('ERR_STORE_UNKNOWN_BLOB', where, 'not stored', d.digest);
    if (code === 'ELOOP') throw new StoreError('ERR_STORE_UNKNOWN_BLOB', where, 'a symlink, not a stored blob', d.digest);
    throw ioError(e, where, 'opening the blob', d.digest);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new StoreError('ERR_STORE_UNKNOWN_BLOB', where, 'not a regular file', d.digest);
    if (st.size > maxBytes) throw new StoreError('ERR_STORE_OVERSIZED', where, `${st.size} bytes, more than the ${maxBytes} read whole`, d.digest);
    const data = fs.readFileSync(fd);
    const actual = `${d.algorithm}:${createHash(d.algorithm).update(data).digest('hex')}`;
    if (actual !== d.digest) throw new StoreError('ERR_STORE_DIGEST_MISMATCH', where, `the stored bytes hash to ${actual}: the blob was changed on disk`, d.digest);
    return data;
  } catch (e) {
    throw ioError(e, where, 'reading the blob', d.digest);
  } finally {
    fs.closeSync(fd);
  }
}

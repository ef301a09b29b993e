import { createHash } from 'node:crypto';
import type { DirHandle } from '../host/dir-handle.js';
import { closeFd, fstatFd, fsyncFd, readWhole } from '../host/fd-io.js';
import { lstatIn } from './layout-dirs.js';
import type { Algorithm, BlobRef } from './layout-writer.js';
import { linkRefused, SaveImageError, systemError } from './save-image-error.js';

// What an existing layout holds, read back without following a link, blocking on a FIFO,
// or reading without bound: its index.json and oci-layout, and blobs to reuse.

/** The largest index.json or oci-layout read back when adding to a layout. */
const SMALL_FILE_MAX = 16 * 2 ** 20;

const isSymlinkError = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ELOOP';

/**
 * Opens a name for reading only if it is a regular file: never a symlink (O_NOFOLLOW), and
 * non-blocking so a FIFO planted there cannot stall the open; the descriptor's own type is
 * then checked. Undefined for anything else.
 */
async function openRegular(dir: DirHandle, name: string): Promise<{ fd: number; size: number } | undefined> {
  let fd: number;
  try {
    fd = dir.openFile(name, { nonBlocking: true });
  } catch (e) {
    if (isSymlinkError(e)) throw linkRefused(dir.labelOf(name), 'file', e);
    throw systemError(e, dir.labelOf(name), 'opening it');
  }
  const st = await fstatFd(fd).catch(async (e: unknown) => {
    await closeFd(fd);
    throw systemError(e, dir.labelOf(name), 'opening it');
  });
  if (!st.isFile()) {
    await closeFd(fd);
    return undefined;
  }
  return { fd, size: st.size };
}

/** index.json or oci-layout of an existing layout, read without following a link. */
export async function readSmall(dir: DirHandle, name: string): Promise<Buffer> {
  const label = dir.labelOf(name);
  const file = await openRegular(dir, name);
  if (!file) throw new SaveImageError('ERR_NOT_A_LAYOUT', label, 'not a regular file');
  try {
    if (file.size > SMALL_FILE_MAX) throw new SaveImageError('ERR_NOT_A_LAYOUT', label, `${file.size} bytes, more than the ${SMALL_FILE_MAX} read back`);
    const chunks: Buffer[] = [];
    const outcome = await readWhole(file.fd, file.size, (c) => chunks.push(Buffer.from(c)));
    if (outcome !== 'whole') throw new SaveImageError('ERR_NOT_A_LAYOUT', label, `${outcome} while being read`);
    return Buffer.concat(chunks);
  } catch (e) {
    throw systemError(e, label, 'reading it');
  } finally {
    await closeFd(file.fd);
  }
}

/** Whether `value` nests objects and lists at most `max` levels deep (walked without recursion). */
export function nestedWithin(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return false;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return true;
}

export function parseJson(data: Buffer, label: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new SaveImageError('ERR_NOT_A_LAYOUT', label, `not JSON: ${(e as Error).message}`);
  }
}

/**
 * Whether `dir` already holds the blob, whole and right: a regular file (not a link, FIFO or
 * device) of the expected size whose bytes hash to its digest. Anything else is replaced.
 */
export async function holdsBlob(dir: DirHandle, blob: BlobRef): Promise<boolean> {
  const [alg, hex] = blob.digest.split(':') as [Algorithm, string];
  const st = lstatIn(dir, hex);
  if (!st || !st.isFile() || st.size !== blob.size) return false;
  const file = await openRegular(dir, hex).catch(() => undefined);
  if (!file) return false;
  try {
    if (file.size !== blob.size) return false;
    const hash = createHash(alg);
    const outcome = await readWhole(file.fd, blob.size, (c) => hash.update(c));
    if (outcome !== 'whole' || `${alg}:${hash.digest('hex')}` !== blob.digest) return false;
    // Left by a save that may have been killed before flushing it: on disk before the index
    // names it (fsync(2) flushes the file whatever the descriptor was opened for).
    await fsyncFd(file.fd);
    return true;
  } catch {
    return false;
  } finally {
    await closeFd(file.fd);
  }
}

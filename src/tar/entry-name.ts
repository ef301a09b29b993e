import { isNormal } from '../util/path.js';
import { WHITEOUT_PREFIX } from '../oci/oci-names.js';

/** A name component longer than this many bytes cannot exist on Linux (NAME_MAX; the kernel gives ENAMETOOLONG). */
const NAME_MAX = 255;
/** A path (a symlink's or hard link's target) of this many bytes or more cannot be passed to the kernel (PATH_MAX counts the NUL: ENAMETOOLONG). */
export const PATH_MAX = 4096;

/**
 * Turns a tar entry name into a layer path, refusing what could reach outside the root or
 * merge with another name (layer.md: "entries MUST NOT ... escape the root"), or name a file
 * no Linux filesystem can hold:
 * - absolute names lose their leading slashes, as GNU tar extracts them;
 * - `..` components are refused (no real layer has them; clamping them at the root would make
 *   one name silently stand for another);
 * - names that are not valid UTF-8 are refused, never decoded lossily into a name that could
 *   equal another entry's;
 * - a NUL byte is refused: ustar fields end at one, but a PAX `path` record can carry it, and
 *   the kernel would end the name there (`a\0b` is `a`);
 * - a component of more than NAME_MAX (255) bytes is refused: readdir would list it and every
 *   call on it fail with ENAMETOOLONG. A whiteout's last component (`.wh.<name>`) is bounded
 *   on the name it removes: containerd's differ, and layerfs's commit, write `.wh.` and a
 *   255-byte name for a removed 255-byte file.
 * Returns the normalised absolute path, or a reason for refusing.
 */
export function layerPath(raw: string): { path: string } | { refused: string } {
  if (raw.includes('\0')) return { refused: 'name contains a NUL byte' };
  const path = normalised(raw);
  if ('refused' in path) return path;
  // UTF-8 takes at most three bytes per UTF-16 unit: a shorter path cannot hold a long component.
  if (path.path.length > NAME_MAX / 3) {
    // A whiteout (`.wh.<name>`, oci-names.ts) stands for `<name>`, which is what NAME_MAX bounds.
  const parts = path.path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const part = i === parts.length - 1 && parts[i]!.startsWith(WHITEOUT_PREFIX) ? parts[i]!.slice(WHITEOUT_PREFIX.length) : parts[i]!;
      const bytes = part.length > NAME_MAX / 3 ? Buffer.byteLength(part) : 0;
      if (bytes > NAME_MAX) return { refused: `a name component of ${bytes} bytes, longer than NAME_MAX (${NAME_MAX}): no Linux filesystem holds it (ENAMETOOLONG)` };
    }
  }
  return path;
}

function normalised(raw: string): { path: string } | { refused: string } {
  // Most names ("usr/lib/x", "./etc/", "bin/") are normal once given a leading slash.
  const start = raw.startsWith('./') ? 1 : 0;
  const end = raw.length > 1 && raw.endsWith('/') ? raw.length - 1 : raw.length;
  const simple = start === 0 ? `/${raw.slice(0, end)}` : raw.slice(start, end);
  if (simple !== '/.' && isNormal(simple)) return { path: simple };
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { refused: 'name contains ".." (would reach outside the layer root)' };
    parts.push(part);
  }
  return { path: '/' + parts.join('/') };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const ASCII = /^[\x00-\x7f]*$/;

/**
 * tar-stream decodes header names as latin1 here (one char per byte), so the bytes survive;
 * PAX `path` records are UTF-8 by definition (POSIX pax). Returns the UTF-8 name or undefined.
 */
export function utf8Name(latin1: string): string | undefined {
  if (ASCII.test(latin1)) return latin1; // one byte, one char: nothing to decode
  try {
    return strictUtf8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Shows a name's bytes safely in an error message. */
export function printable(latin1: string): string {
  return JSON.stringify(Buffer.from(latin1, 'latin1').toString('latin1')).slice(1, -1);
}

import { isUtf8 } from 'node:buffer';

/**
 * A Linux name is bytes: anything but `/` and NUL (path_resolution(7)), UTF-8 or not. layerfs
 * holds names and paths as JavaScript strings, so bytes that are not UTF-8 need a string form
 * that gives the same bytes back and never meets the form of another name: valid UTF-8
 * decodes as usual, and each byte that is not part of a valid sequence becomes the lone
 * surrogate U+DC80 + (byte - 0x80), as Python's "surrogateescape" (PEP 383) does. Decoded
 * UTF-8 never holds a lone surrogate, and a string the caller passes is made well formed first
 * (`wellFormed`, what Node does when it encodes a path), so the two kinds never meet.
 */
const ESCAPE_BASE = 0xdc00;

/** The string form of a name's bytes (exact: `bytesOf` gives them back). */
export function fromBytes(bytes: Uint8Array): string {
  if (isUtf8(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      out += String.fromCharCode(ESCAPE_BASE + bytes[i]!);
      i += 1;
    } else {
      out += Buffer.from(bytes.buffer, bytes.byteOffset + i, n).toString('utf8');
      i += n;
    }
  }
  return out;
}

/** The length of the valid UTF-8 sequence at `i` (RFC 3629 table 3-7), or 0 if there is none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf; // no UTF-16 surrogates
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf; // nothing past U+10FFFF
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

const SURROGATE = /[\ud800-\udfff]/;

/** A lone low surrogate in U+DC80..U+DCFF: the low half of a pair (after a high surrogate) is a character's. */
function isEscapeAt(name: string, i: number): boolean {
  const c = name.charCodeAt(i);
  if (c < 0xdc80 || c > 0xdcff) return false;
  const before = i > 0 ? name.charCodeAt(i - 1) : 0;
  return !(before >= 0xd800 && before <= 0xdbff);
}

/** The bytes a name stands for. */
export function bytesOf(name: string): Buffer {
  if (!SURROGATE.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < name.length; i++) {
    if (!isEscapeAt(name, i)) continue;
    if (i > run) parts.push(Buffer.from(name.slice(run, i), 'utf8'));
    parts.push(Buffer.of(name.charCodeAt(i) - ESCAPE_BASE));
    run = i + 1;
  }
  if (run < name.length) parts.push(Buffer.from(name.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/** How many bytes a name or path takes on a Linux filesystem (NAME_MAX, PATH_MAX count these). */
export function byteLength(name: string): number {
  if (!SURROGATE.test(name)) return Buffer.byteLength(name, 'utf8');
  return bytesOf(name).length;
}

/** Whether a name holds bytes that are not UTF-8 (an escape). */
export function hasRawBytes(name: string): boolean {
  if (!SURROGATE.test(name)) return false;
  for (let i = 0; i < name.length; i++) if (isEscapeAt(name, i)) return true;
  return false;
}

/** The name as UTF-8 text, as Node decodes a name it reads: bytes that are not UTF-8 become U+FFFD. */
export function asText(name: string): string {
  return hasRawBytes(name) ? bytesOf(name).toString('utf8') : name;
}

/**
 * A string from the caller as the name Node would pass to the kernel: Node encodes paths as
 * UTF-8, where a lone surrogate becomes U+FFFD (so a caller cannot spell an escape).
 */
export function wellFormed(s: string): string {
  if (!SURROGATE.test(s)) return s;
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

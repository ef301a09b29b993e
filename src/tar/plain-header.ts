import { TYPEFLAG_NAMES, type TarHeader } from './tar-header.js';

/**
 * The common tar header decoded without tar-stream, for the header walk (header-walk.ts):
 * tar-stream's headers.js decode builds each field through subarray, toString and parseInt,
 * which was most of the time opening a layer of many small files took. This reads the same
 * fields from the block's bytes and gives the same object tar-stream's decode gives, for the
 * plain case only: a ustar ("ustar\0") or GNU ("ustar  \0") header of an entry type 0 to 7
 * whose numeric fields are octal digits (after the spaces and NULs tar-stream skips) and whose
 * checksum is right. Anything else (PAX and GNU long headers, base-256 or signed numbers, a
 * bad checksum, a zero block, an unknown format) is `undefined`: tar-stream's decode then
 * decides, errors included. test/layer/plain-header.test.ts compares the two on headers of
 * every kind and on random corruptions of them.
 */

const SPACE = 0x20;

/**
 * An octal field as tar-stream's decodeOct reads it (leading spaces skipped, the field ending
 * at the next space, then leading NULs skipped; parseInt(..., 8) of the rest, which stops at
 * the first byte that is not an octal digit), or -1 when that rest does not start with an
 * octal digit (base-256, a sign, whitespace parseInt would trim): tar-stream decides those.
 */
function octal(b: Buffer, offset: number, length: number): number {
  const limit = offset + length;
  let i = offset;
  if (b[i]! & 0x80) return -1;
  while (i < limit && b[i] === SPACE) i++;
  let end = i;
  while (end < limit && b[end] !== SPACE) end++;
  while (i < end && b[i] === 0) i++;
  if (i === end) return 0;
  let n = 0;
  const first = i;
  for (; i < end; i++) {
    const digit = b[i]! - 0x30;
    if (digit < 0 || digit > 7) break;
    n = n * 8 + digit;
  }
  return i === first ? -1 : n;
}

/** The bytes from `offset` up to the first NUL within `length`, as `encoding` text. */
function text(b: Buffer, offset: number, length: number, encoding: 'latin1' | 'utf8'): string {
  let end = offset;
  const limit = offset + length;
  while (end < limit && b[end] !== 0) end++;
  return end === offset ? '' : b.toString(encoding, offset, end);
}

/**
 * A text field whose value repeats from header to header (user and group names: a layer has
 * a few, `root` mostly), decoded once per distinct value: the bytes up to the NUL are compared
 * with the last ones decoded, and the same string given for the same bytes.
 */
class RepeatedField {
  private readonly last: Buffer;
  private lastLength = -1;
  private value = '';

  constructor(private readonly offset: number, private readonly length: number, private readonly encoding: 'latin1' | 'utf8') {
    this.last = Buffer.alloc(length);
  }

  read(b: Buffer): string {
    const offset = this.offset;
    let end = offset;
    const limit = offset + this.length;
    while (end < limit && b[end] !== 0) end++;
    const n = end - offset;
    if (n === this.lastLength) {
      let i = 0;
      while (i < n && b[offset + i] === this.last[i]) i++;
      if (i === n) return this.value;
    }
    this.value = n === 0 ? '' : b.toString(this.encoding, offset, end);
    b.copy(this.last, 0, offset, end);
    this.lastLength = n;
    return this.value;
  }
}

const uname = new RepeatedField(265, 32, 'utf8');
const gname = new RepeatedField(297, 32, 'utf8');

/**
 * The sum tar's checksum is (the checksum field counted as spaces), as tar-stream's cksum.
 * On a 4-byte aligned block, four bytes at a time: each 32-bit word adds its bytes 0 and 2
 * into the low 16-bit lane and 1 and 3 into the high one (126 words of at most 2 x 255 per
 * lane stay below 2^16, so no lane carries into the other).
 */
function checksum(b: Buffer): number {
  if ((b.byteOffset & 3) !== 0) {
    let sum = 8 * SPACE;
    for (let i = 0; i < 148; i++) sum += b[i]!;
    for (let i = 156; i < 512; i++) sum += b[i]!;
    return sum;
  }
  const words = new Uint32Array(b.buffer, b.byteOffset, 128);
  let lanes = 0;
  // Bytes 148 to 155 (words 37 and 38) are the checksum field itself.
  for (let i = 0; i < 37; i++) lanes += (words[i]! & 0x00ff00ff) + ((words[i]! >>> 8) & 0x00ff00ff);
  for (let i = 39; i < 128; i++) lanes += (words[i]! & 0x00ff00ff) + ((words[i]! >>> 8) & 0x00ff00ff);
  return 8 * SPACE + (lanes % 0x10000) + Math.floor(lanes / 0x10000);
}

const isUstar = (b: Buffer) => b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72 && b[262] === 0;
const isGnu = (b: Buffer) => b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72 && b[262] === SPACE && b[263] === SPACE && b[264] === 0;

/**
 * The 512-byte header `b` decoded as tar-stream's `decode(b, 'latin1', false)` decodes it
 * (names latin1, user and group names UTF-8), or undefined when it is not the plain case.
 */
export function decodePlainHeader(b: Buffer): TarHeader | undefined {
  const flag = b[156]!;
  const typeflag = flag === 0 ? 0 : flag - 0x30;
  if (typeflag < 0 || typeflag > 7) return undefined;
  const ustar = isUstar(b);
  if (!ustar && !isGnu(b)) return undefined;
  const mode = octal(b, 100, 8);
  const uid = octal(b, 108, 8);
  const gid = octal(b, 116, 8);
  const size = octal(b, 124, 12);
  const mtime = octal(b, 136, 12);
  const devmajor = octal(b, 329, 8);
  const devminor = octal(b, 337, 8);
  const sum = octal(b, 148, 8);
  if (mode < 0 || uid < 0 || gid < 0 || size < 0 || mtime < 0 || devmajor < 0 || devminor < 0 || sum < 0) return undefined;
  if (checksum(b) !== sum) return undefined;
  let name = text(b, 0, 100, 'latin1');
  if (ustar && b[345] !== 0) name = `${text(b, 345, 155, 'latin1')}/${name}`;
  // tar-stream gives a typeflag-0 name ending in / the type 'file' too: it changes the flag
  // only after the type was taken.
  const header = {
    name,
    mode,
    uid,
    gid,
    size,
    byteOffset: 0,
    mtime: new Date(1000 * mtime),
    type: TYPEFLAG_NAMES[typeflag]!,
    linkname: b[157] === 0 ? null : text(b, 157, 100, 'latin1'),
    uname: uname.read(b),
    gname: gname.read(b),
    devmajor,
    devminor,
    pax: null,
  };
  return header;
}

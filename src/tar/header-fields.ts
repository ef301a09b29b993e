/**
 * The numeric fields of a ustar header block, checked on the raw bytes before tar-stream
 * decodes them. tar-stream reads each with parseInt (skipping spaces, then NULs, stopping at the
 * first byte that is not an octal digit), so `0000002000x` was a size of 1024 bytes where GNU
 * tar refuses the header ("Archive contains '0000002000x' where numeric off_t value expected",
 * exit status 2) and Go's archive/tar too ("invalid tar header"), and the entry's data was read
 * as headers by one and not the others.
 *
 * The forms accepted are those GNU tar 1.34 (list.c from_header) and Go (reader.go parseNumeric,
 * parseOctal) both read, and read as the same number tar-stream reads:
 * - octal digits after any number of spaces, ending at the field's end, at a NUL (anything may
 *   follow it: all three stop there), or at spaces followed by nothing but spaces and NULs
 *   (`0000644 \0`, `   000644`: what old tars write);
 * - a field of NULs only (0);
 * - base-256 (first byte 0x80, the rest a big-endian number), and for mtime its negative form
 *   (first byte 0xff), up to 2^53.
 * Refused, since the tools disagree or all refuse: other bytes after the digits (`12x`,
 * GNU tar and Go refuse; `12 34`, GNU tar reads 12, Go refuses), leading NULs before digits
 * (GNU tar reads 0, Go and tar-stream the digits: the very smuggling above), a tab (GNU
 * skips it, Go refuses), a sign (`+2000`: GNU tar's obsolete base-64, Go refuses), a field of
 * spaces only (GNU tar: "Blanks in header"), any other base-256 lead byte (GNU tar refuses,
 * Go reads it, tar-stream gives null).
 */

/** The fields (ustar offsets and lengths, POSIX pax "ustar Interchange Format"). */
const FIELDS: ReadonlyArray<readonly [name: string, offset: number, length: number]> = [
  ['mode', 100, 8], ['uid', 108, 8], ['gid', 116, 8], ['size', 124, 12], ['mtime', 136, 12],
  ['chksum', 148, 8], ['devmajor', 329, 8], ['devminor', 337, 8],
];

const NUL = 0;
const SPACE = 0x20;

/** The header's checksum as tar computes it: the bytes summed, the checksum field counted as spaces. */
function checksum(block: Uint8Array): number {
  let sum = 8 * SPACE;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < 512; i++) sum += block[i]!;
  return sum;
}

/**
 * The checksum field as tar-stream's decodeOct reads it (spaces skipped, up to the next space,
 * NULs skipped, then parseInt(text, 8), which takes leading whitespace and a sign; base-256
 * after a 0x80 or 0xff lead byte), for a field that is not plain octal.
 */
function tarStreamChecksum(block: Uint8Array): number {
  if (block[148]! & 0x80) return base256(block, 148, 8);
  let i = 148;
  while (i < 156 && block[i] === SPACE) i++;
  let end = i;
  while (end < 156 && block[end] !== SPACE) end++;
  while (i < end && block[i] === NUL) i++;
  return i === end ? 0 : parseInt(Buffer.from(block.buffer, block.byteOffset + i, end - i).toString('utf8'), 8);
}

/** A field in the plain form (octal digits, then a NUL, a space or the field's end), or -1. */
function plainOctal(b: Uint8Array, offset: number, length: number): number {
  const end = offset + length;
  let n = 0;
  let i = offset;
  for (; i < end && b[i]! >= 0x30 && b[i]! <= 0x37; i++) n = n * 8 + b[i]! - 0x30;
  return i > offset && (i === end || b[i] === NUL || b[i] === SPACE) ? n : -1;
}

/** A base-256 field (lead byte 0x80: positive, 0xff: two's complement), as tar-stream's parse256; NaN for another lead byte. */
function base256(b: Uint8Array, offset: number, length: number): number {
  const lead = b[offset]!;
  if (lead !== 0x80 && lead !== 0xff) return NaN;
  let n = 0;
  for (let i = offset + 1; i < offset + length; i++) n = n * 256 + (lead === 0xff ? 255 - b[i]! : b[i]!);
  return lead === 0xff ? -(n + 1) : n;
}

/** Why the field `b[offset, offset+length)` is not a number all three readers agree on, or undefined. */
function fieldFault(b: Uint8Array, offset: number, length: number, signed: boolean): string | undefined {
  const end = offset + length;
  const lead = b[offset]!;
  if (lead & 0x80) {
    if (lead !== 0x80 && !(signed && lead === 0xff)) return `a base-256 number must begin with byte 0x80${signed ? ' or 0xff' : ''} (GNU tar refuses 0x${lead.toString(16)})`;
    return Number.isSafeInteger(base256(b, offset, length)) ? undefined : 'a base-256 number beyond 2^53';
  }
  let i = offset;
  while (i < end && b[i] === NUL) i++;
  if (i === end) return undefined; // all NULs: 0 to all three
  if (i > offset) return 'NUL bytes before the digits (GNU tar reads 0 there, Go and tar-stream the digits after them)';
  while (i < end && b[i] === SPACE) i++;
  const digits = i;
  while (i < end && b[i]! >= 0x30 && b[i]! <= 0x37) i++;
  if (i === digits) return i === end ? 'spaces only, no digits (GNU tar: "Blanks in header")' : 'no octal digits';
  if (i === end || b[i] === NUL) return undefined;
  if (b[i] !== SPACE) return 'a byte that is not an octal digit after the digits';
  for (; i < end; i++) if (b[i] !== SPACE && b[i] !== NUL) return 'more after the blank that ends the digits (GNU tar ignores it, Go refuses the header)';
  return undefined;
}

/** The field's bytes shown safely in a message. */
function shown(b: Uint8Array, offset: number, length: number): string {
  return JSON.stringify(Buffer.from(b.buffer, b.byteOffset + offset, length).toString('latin1')).slice(1, -1);
}

const OFFSETS = FIELDS.map(([, offset]) => offset);
const ENDS = FIELDS.map(([, offset, length]) => offset + length);

/**
 * Whether every field is in the form tar writers use (octal digits, then the field's end or a
 * NUL, or a space followed by spaces and NULs only; or all NULs): the common case, checked in
 * one pass.
 */
function plainFields(b: Uint8Array): boolean {
  for (let f = 0; f < OFFSETS.length; f++) {
    const end = ENDS[f]!;
    let i = OFFSETS[f]!;
    const first = i;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x37) i++;
    if (i === first) {
      while (i < end && b[i] === NUL) i++;
      if (i === end) continue; // all NULs (devmajor and devminor of most entries): 0
      return false;
    }
    if (i === end || b[i] === NUL) continue;
    if (b[i] !== SPACE) return false;
    while (++i < end) if (b[i] !== SPACE && b[i] !== NUL) return false;
  }
  return true;
}

/**
 * Why the header block must be refused (a numeric field GNU tar, Go and tar-stream do not all
 * read as one number: see above), or undefined. A block tar-stream reads as the end of the
 * archive or refuses for its checksum is left to it.
 */
export function headerFieldFault(block: Uint8Array): string | undefined {
  if (plainFields(block)) return fileNamedAsDirectoryFault(block);
  for (const [name, offset, length] of FIELDS) {
    const fault = name === 'chksum' && block[offset]! & 0x80 ? 'a base-256 checksum (GNU tar reads the checksum as octal only)' : fieldFault(block, offset, length, name === 'mtime');
    if (fault === undefined) continue;
    // An end-of-archive block (the sum of zeros), or one whose checksum is wrong: tar-stream
    // decides (reads on, or refuses it as corrupt), as before any check here. Only a block
    // with a fault pays for the sum.
    const sum = checksum(block);
    const recorded = plainOctal(block, 148, 8);
    if (sum === 8 * SPACE || (recorded >= 0 ? recorded : tarStreamChecksum(block)) !== sum) return undefined;
    return `malformed ${name} field "${shown(block, offset, length)}": ${fault}`;
  }
  return fileNamedAsDirectoryFault(block);
}

/**
 * A regular-file typeflag (`0` or NUL) on a name ending in `/`. The old-tar convention makes it
 * a directory, but the readers apply it differently: GNU tar reads a directory for both; Go's
 * archive/tar for NUL only (a file for `0`); tar-stream never (it takes the type before it
 * looks at the slash: a file, its size bytes of content). With a size, GNU tar -t also skips
 * those bytes as data where GNU tar -x reads them as the next headers. No two agree for `0`,
 * and tar-stream agrees with neither for NUL: refused. (Its numeric fields are known good.)
 */
function fileNamedAsDirectoryFault(block: Uint8Array): string | undefined {
  const flag = block[156];
  if (flag !== 0x30 && flag !== NUL) return undefined;
  let end = 0;
  while (end < 100 && block[end] !== NUL) end++;
  // An empty name field with a ustar prefix makes tar-stream's name "<prefix>/".
  const slash = end > 0 ? block[end - 1] === 0x2f : block[345] !== NUL && block[257] === 0x75;
  if (!slash) return undefined;
  // A block with a wrong checksum is tar-stream's to refuse.
  const recorded = plainOctal(block, 148, 8);
  if ((recorded >= 0 ? recorded : tarStreamChecksum(block)) !== checksum(block)) return undefined;
  const readers = flag === NUL ? 'GNU tar and Go\'s archive/tar read a directory, tar-stream a file' : 'GNU tar reads a directory, Go\'s archive/tar and tar-stream a file';
  return `a regular file (typeflag ${flag === NUL ? 'NUL' : '0'}) named like a directory ("${shown(block, 0, end)}"): ${readers}`;
}

/** The entry name in a header block (ustar name field, up to its NUL), as latin1, for messages. */
export function blockName(block: Uint8Array): string {
  let end = 0;
  while (end < 100 && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset, end).toString('latin1');
}

/**
 * Entry types tar readers take as header-only, whatever the size says (Go reader.go
 * isHeaderOnlyType; GNU tar when it extracts). tar-stream skipped `size` bytes after each but
 * a directory, so the bytes GNU tar and Go read as the next headers were skipped: an entry
 * they extract (`etc/smuggled`) was not in the layer. A directory's size, and a hard link's
 * ustar size, are ignored (GNU tar `-t`, `-x` and Go agree); for the others, and for a hard
 * link's PAX `size`, GNU tar `-t` skips the bytes while `-x` reads them as headers, so such an
 * entry is refused (headerOnlySizeFault).
 */
export const HEADER_ONLY = new Set(['link', 'symlink', 'character-device', 'block-device', 'directory', 'fifo']);

/** Header-only types whose size GNU tar -t and -x read differently. */
const DISPUTED_SIZE = new Set(['symlink', 'character-device', 'block-device', 'fifo']);

/**
 * Why an entry of tar-stream type `type`, size `size` (its ustar or PAX size, as applied; 0
 * for a hard link, whose ustar size is ignored) and PAX `size` record `paxSize` must be
 * refused, or undefined.
 */
export function headerOnlySizeFault(type: string | null | undefined, size: number | undefined, paxSize: string | undefined): string | undefined {
  const disputed = type === 'link' ? Number(paxSize ?? 0) : type && DISPUTED_SIZE.has(type) ? size ?? 0 : 0;
  if (!disputed) return undefined;
  return `a ${type} whose header gives a size (${disputed} bytes): GNU tar -t skips that many bytes as its data, GNU tar -x and Go's archive/tar read them as the next headers (a ${type === 'link' ? 'hard link' : 'device, FIFO or symlink'} has no data)`;
}

/**
 * Why the GNU long names of an entry (`././@LongLink`, typeflag L for the name, K for the link
 * target; latin1 as tar-stream decodes them) and its PAX `path`/`linkpath` (UTF-8) must be
 * refused, or undefined: both given and different. GNU tar takes the PAX value, Go's
 * archive/tar the GNU one (tar-stream took PAX), so the tools would extract different names.
 */
export function longNameFault(longPath: string | null, longLinkPath: string | null, pax: Readonly<Record<string, string>> | null): string | undefined {
  const differs = (gnu: string | null, paxValue: string | undefined) => gnu !== null && paxValue !== undefined && !Buffer.from(gnu, 'latin1').equals(Buffer.from(paxValue, 'utf8'));
  const shown = (s: string) => JSON.stringify(s.slice(0, 80)).slice(1, -1);
  if (differs(longPath, pax?.path)) return `a GNU long name "${shown(longPath!)}" and a PAX path "${shown(pax!.path!)}" for the same entry: GNU tar takes the PAX path, Go's archive/tar the long name`;
  if (differs(longLinkPath, pax?.linkpath)) return `a GNU long link target "${shown(longLinkPath!)}" and a PAX linkpath "${shown(pax!.linkpath!)}" for the same entry: GNU tar takes the PAX linkpath, Go's archive/tar the long link`;
  return undefined;
}

/**
 * The records of a PAX extended header (POSIX pax, "pax Extended Header": each record is
 * `"%d %s=%s\n"`, the decimal length counting the whole record, its own digits included),
 * read and checked in one place: TarLayer's streaming extract, the header walk and the xattr
 * values all read records through `paxRecords`.
 *
 * tar-stream's decoder stops at the first record it cannot read and keeps the ones before it,
 * so a broken header was half applied: a `path` before the break was used, a `size` after it
 * was not. GNU tar (xheader.c, decode_record) refuses the same bytes and exits with status 2;
 * layerfs refuses the layer. The checks are GNU tar's, and its wording:
 * "missing length", "out of range", "missing blank after length", "missing newline",
 * "missing equal sign". Two more, where GNU tar and tar-stream would read different keywords
 * from the same bytes: a record whose length cannot even cover `"<digits> k=\n"`, and a
 * keyword that begins with a blank (GNU tar skips extra blanks after the length, tar-stream
 * keeps them in the keyword), and a keyword holding a NUL byte (`path\0x=`,
 * `SCHILY.xattr.user.a\0b=`: GNU tar and Go read keywords as C strings and refuse it; tar-stream
 * kept the NUL). A NUL byte where a record should start ends the records (both GNU tar and
 * tar-stream read nothing after it).
 */

/** One record: its keyword (UTF-8, as tar-stream decodes it), its value as bytes, and the byte it starts at. */
export interface PaxRecord {
  keyword: string;
  value: Buffer;
  at: number;
}

/** The records of `body` in order, or the first fault in it. */
export function paxRecords(body: Uint8Array): { records: PaxRecord[] } | { fault: string } {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const records: PaxRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] === 0) break; // the records end at a NUL (GNU tar and tar-stream read no further)
    let digitsEnd = at;
    while (digitsEnd < bytes.length && bytes[digitsEnd]! >= 0x30 && bytes[digitsEnd]! <= 0x39) digitsEnd++;
    if (digitsEnd === at) return { fault: `record at byte ${at}: missing length` };
    const length = Number(bytes.toString('latin1', at, digitsEnd));
    const left = bytes.length - at;
    if (length > left) return { fault: `record at byte ${at}: length ${length} is out of range (${left} bytes left in the header)` };
    if (bytes[digitsEnd] !== 0x20) return { fault: `record at byte ${at}: missing blank after length` };
    const end = at + length; // one past the record's newline
    // The shortest record is "<digits> =\n": the length must reach past the blank, an '=' and a newline.
    if (end < digitsEnd + 3) return { fault: `record at byte ${at}: length ${length} is shorter than the record's own length field` };
    if (bytes[end - 1] !== 0x0a) return { fault: `record at byte ${at}: missing newline (the record does not end where its length ${length} says)` };
    const eq = bytes.indexOf(0x3d, digitsEnd + 1);
    if (eq < 0 || eq >= end - 1) return { fault: `record at byte ${at}: missing equal sign` };
    if (bytes[digitsEnd + 1] === 0x20) return { fault: `record at byte ${at}: keyword begins with a blank` };
    // GNU tar and Go read a keyword as a C string (Go: "invalid PAX record"); tar-stream kept the NUL.
    if (bytes.subarray(digitsEnd + 1, eq).includes(0)) return { fault: `record at byte ${at}: keyword contains a NUL byte` };
    records.push({ keyword: bytes.toString('utf8', digitsEnd + 1, eq), value: bytes.subarray(eq + 1, end - 1), at });
    at = end;
  }
  return { records };
}

/**
 * A `size` value as GNU tar reads it: decimal digits only (no sign, blank or suffix), within
 * range. tar-stream reads it with parseInt, so `0junk` became a size GNU tar and Go's
 * archive/tar refuse, and the entry's content was read as headers: an archive could show
 * layerfs entries that GNU tar and containerd do not (smuggling). `+6` GNU tar refuses and Go
 * reads as 6 (strconv.ParseInt takes a sign): the tools disagree, so it is refused too.
 */
const PAX_SIZE = /^[0-9]{1,19}$/;

/**
 * Keywords a global header (typeflag `g`) may not carry. GNU tar applies a global record to
 * every entry after it, containerd ignores global headers (pkg/archive createTarFile: "PAX
 * Global Extended Headers found and ignored"), umoci refuses any (an unknown typeflag), and
 * tar-stream merged them into the entries that had a PAX header of their own only: no two
 * agree on what such a record does to an entry. The keywords are POSIX pax's that describe an
 * entry, and the vendor prefixes layerfs reads from one. Other global records (`comment`, all
 * that `git archive` writes) are ignored, as containerd ignores them.
 */
const ENTRY_KEYWORDS = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime', 'charset', 'hdrcharset']);
const ENTRY_PREFIXES = ['SCHILY.', 'LIBARCHIVE.', 'GNU.sparse.'];

/**
 * Why the PAX header `body` must be refused, or undefined: a malformed record (above), a
 * `size` that is not a plain decimal number, or, in a global header, a record that would
 * describe entries. Checked before tar-stream applies the records to the next header.
 */
export function paxHeaderFault(body: Uint8Array, global: boolean): string | undefined {
  const read = paxRecords(body);
  if ('fault' in read) return read.fault;
  for (const { keyword, value, at } of read.records) {
    if (global) {
      if (ENTRY_KEYWORDS.has(keyword) || ENTRY_PREFIXES.some((p) => keyword.startsWith(p))) {
        return `record at byte ${at}: a global header sets ${JSON.stringify(keyword.slice(0, 80)).slice(1, -1)}, which tools apply to different entries (GNU tar to every one after it, containerd to none)`;
      }
    } else if (keyword === 'size') {
      const text = value.toString('latin1');
      if (!PAX_SIZE.test(text) || !Number.isSafeInteger(Number(text))) return `record at byte ${at}: invalid size=${JSON.stringify(text.slice(0, 40)).slice(1, -1)}`;
    }
  }
  return undefined;
}

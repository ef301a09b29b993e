/**
 * Checks the records of a PAX extended header (POSIX pax, "pax Extended Header": each record is
 * `"%d %s=%s\n"`, the decimal length counting the whole record, its own digits included).
 *
 * tar-stream's decoder stops at the first record it cannot read and keeps the ones before it,
 * so a broken header was half applied: a `path` before the break was used, a `size` after it
 * was not. GNU tar (xheader.c, decode_record) refuses the same bytes and exits with status 2;
 * layerfs refuses the layer. The checks are GNU tar's, and its wording:
 * "missing length", "out of range", "missing blank after length", "missing newline",
 * "missing equal sign". Two more, where GNU tar and tar-stream would read different keywords
 * from the same bytes: a record whose length cannot even cover `"<digits> k=\n"`, and a
 * keyword that begins with a blank (GNU tar skips extra blanks after the length, tar-stream
 * keeps them in the keyword). A NUL byte ends the records (both GNU tar and tar-stream read
 * nothing after it).
 */
export function paxHeaderFault(body: Uint8Array): string | undefined {
  let at = 0;
  while (at < body.length) {
    if (body[at] === 0) return undefined; // the records end at a NUL (GNU tar and tar-stream read no further)
    let digitsEnd = at;
    while (digitsEnd < body.length && body[digitsEnd]! >= 0x30 && body[digitsEnd]! <= 0x39) digitsEnd++;
    if (digitsEnd === at) return `record at byte ${at}: missing length`;
    const length = Number(Buffer.from(body.buffer, body.byteOffset + at, digitsEnd - at).toString('latin1'));
    const left = body.length - at;
    if (length > left) return `record at byte ${at}: length ${length} is out of range (${left} bytes left in the header)`;
    if (body[digitsEnd] !== 0x20) return `record at byte ${at}: missing blank after length`;
    const end = at + length; // one past the record's newline
    // The shortest record is "<digits> =\n": the length must reach past the blank, an '=' and a newline.
    if (end < digitsEnd + 3) return `record at byte ${at}: length ${length} is shorter than the record's own length field`;
    if (body[end - 1] !== 0x0a) return `record at byte ${at}: missing newline (the record does not end where its length ${length} says)`;
    const eq = body.indexOf(0x3d, digitsEnd + 1);
    if (eq < 0 || eq >= end - 1) return `record at byte ${at}: missing equal sign`;
    if (body[digitsEnd + 1] === 0x20) return `record at byte ${at}: keyword begins with a blank`;
    at = end;
  }
  return undefined;
}

import { paxRecords } from './pax-records.js';

/**
 * Extended attribute values are bytes (security.capability is a binary struct), but tar-stream
 * 3 reads and writes PAX records as UTF-8 text, which changes any value that is not UTF-8.
 * PAX records are length-prefixed bytes (POSIX pax, "extended header": `"%d %s=%s\n"`, the
 * length counting the whole record), so nothing in the format stops them carrying any byte.
 *
 * This module keeps them exact at the two points where tar-stream turns PAX bytes into text
 * and back: an extract's `_decodeLongHeader` (patched by extract-checks.ts, which calls
 * `keepExactOn`; an extract without it is refused) and a pack's `_encodePax`. Both are private
 * methods of tar-stream 3. Writing without the second passes values as text, reported as
 * lossy. Tests read and write binary values through GNU tar, so a change in tar-stream shows.
 */
/** On a header's `pax` object (reading) or on a header given to pack (writing): exact xattr values. */
export const RAW_XATTRS: unique symbol = Symbol('layerfs exact xattr values');

const XATTR_KEY = 'SCHILY.xattr.';

/** The `SCHILY.xattr.*` records of a PAX extended header, values as bytes (the header was checked: paxHeaderFault). */
export function paxXattrs(body: Buffer): Map<string, Buffer> {
  const read = paxRecords(body);
  if ('fault' in read) throw new Error(`a PAX header that was not checked: ${read.fault}`);
  const out = new Map<string, Buffer>();
  for (const { keyword, value } of read.records) {
    if (keyword.startsWith(XATTR_KEY)) out.set(keyword.slice(XATTR_KEY.length), Buffer.from(value));
  }
  return out;
}

/** One PAX record: `<length> <key>=<value>\n`, the length counting its own digits. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

/** Puts the exact values of a PAX header's xattr records (`body`) on its decoded `pax`. */
export function keepExactOn(pax: Record<string | symbol, unknown>, body: Buffer): void {
  const exact = paxXattrs(body);
  if (exact.size > 0) pax[RAW_XATTRS] = exact;
}

interface PackInternals {
  _encodePax?: (header: PackHeader) => void;
  _encode?: (header: PackHeader) => void;
  push(chunk: Buffer): boolean;
}

interface PackHeader {
  name: string;
  linkname?: string | null;
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: Date;
  pax?: Record<string, string> | null;
  [RAW_XATTRS]?: ReadonlyMap<string, Buffer>;
}

/** A ustar name tar-stream can encode as it is (ASCII, short), else a stand-in (the PAX path decides). */
function ustarName(name: string): string {
  return /^[\x20-\x7e]{1,99}$/.test(name) ? name : 'PaxHeader-name';
}

/**
 * Makes a pack write the values of `header[RAW_XATTRS]` as exact bytes: the entry's own PAX
 * header (path, linkpath, its other records, and the xattrs) is written here, then the ustar
 * header through tar-stream. False if it cannot (the caller then passes values as text).
 */
export function writeExactXattrs(pack: object): boolean {
  const p = pack as PackInternals;
  const encodePax = p._encodePax;
  const encode = p._encode;
  if (typeof encodePax !== 'function' || typeof encode !== 'function') return false;
  p._encodePax = function (this: PackInternals, header: PackHeader) {
    const exact = header[RAW_XATTRS];
    if (!exact || exact.size === 0) return encodePax.call(this, header);
    const records = [paxRecord('path', Buffer.from(header.name))];
    if (header.linkname) records.push(paxRecord('linkpath', Buffer.from(header.linkname)));
    for (const [k, v] of Object.entries(header.pax ?? {})) if (!k.startsWith(XATTR_KEY)) records.push(paxRecord(k, Buffer.from(v)));
    for (const [k, v] of exact) records.push(paxRecord(XATTR_KEY + k, v));
    const body = Buffer.concat(records);
    const mtime = header.mtime ?? new Date(0);
    encode.call(this, { name: 'PaxHeader', type: 'pax-header', size: body.length, mode: header.mode ?? 0o644, uid: 0, gid: 0, mtime });
    this.push(body);
    if (body.length % 512) this.push(Buffer.alloc(512 - (body.length % 512)));
    encode.call(this, {
      ...header,
      name: ustarName(header.name),
      linkname: header.linkname ? ustarName(header.linkname) : header.linkname,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      pax: null,
      [RAW_XATTRS]: undefined,
    });
  };
  return true;
}

import { RAW_XATTRS } from '../../tar/pax-xattrs.js';
import { TarLayerError } from './errors.js';

// What an entry's PAX records set beyond the ustar header: numeric ids and times, xattrs,
// and the GNU sparse records that are refused.

/** PAX ids: decimal, 0..2^32-1 (GNU tar: "invalid uid=", "out of range 0..4294967295"). Times: decimal seconds with an optional fraction. */
const PAX_NUMBER = { uid: /^[0-9]{1,10}$/, gid: /^[0-9]{1,10}$/, mtime: /^-?[0-9]{1,20}(\.[0-9]{1,20})?$/, atime: /^-?[0-9]{1,20}(\.[0-9]{1,20})?$/ };

/** The range of a 64-bit time_t, in seconds. */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A numeric PAX record's value, or undefined when the record is absent. One that is not a
 * number (`uid=abc`, an empty `gid=`, `mtime=12x`) or out of range was turned into NaN and
 * stored: refused instead, as GNU tar refuses ids ("Malformed extended header"). A time is
 * refused beyond what a 64-bit time_t holds (`mtime=99999999999999999999`), as GNU tar refuses
 * it ("out of range", exit status 2); within, the caller stores it clamped (ext4TimeMs).
 */
export function paxNumber(layer: string, entry: string, pax: Readonly<Record<string, string>>, key: keyof typeof PAX_NUMBER): number | undefined {
  const raw = pax[key];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const id = key === 'uid' || key === 'gid';
  const shown = JSON.stringify(raw).slice(1, -1).slice(0, 40);
  if (!PAX_NUMBER[key].test(raw) || !Number.isFinite(n) || (id && n > 0xffffffff)) throw new TarLayerError(layer, entry, `malformed PAX record: invalid ${key}=${shown}`);
  if (!id) {
    const whole = BigInt(raw.split('.')[0]!);
    if (whole < INT64_MIN || whole > INT64_MAX) throw new TarLayerError(layer, entry, `malformed PAX record: ${key}=${shown} out of range (beyond what a 64-bit time_t holds)`);
  }
  return n;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** setxattr(2) limits (include/uapi/linux/limits.h): a name of at most 255 bytes, a value of at most 64 KiB. */
const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;

/** xattrs from PAX records: `SCHILY.xattr.<name>` (GNU tar, Docker) and base64 `LIBARCHIVE.xattr.<name>` (its name %-encoded). */
export function xattrsOf(layer: string, entry: string, pax: Record<string, string> | null | undefined): Record<string, Buffer> | undefined {
  if (!pax) return undefined;
  const exact = (pax as { [RAW_XATTRS]?: Map<string, Buffer> })[RAW_XATTRS];
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(pax)) {
    if (k.startsWith('SCHILY.xattr.')) {
      const name = k.slice('SCHILY.xattr.'.length);
      if (name === '') throw new TarLayerError(layer, entry, 'malformed PAX record: an xattr with an empty name (setxattr refuses it)');
      // Every SCHILY record of the entry's own PAX header is kept as bytes (pax-xattrs.ts).
      const bytes = exact?.get(name);
      if (!bytes) throw new TarLayerError(layer, entry, `the value of xattr ${name} was not kept as bytes (pax-xattrs.ts)`);
      out[name] = bytes;
    } else if (k.startsWith('LIBARCHIVE.xattr.')) {
      // Buffer.from(v, 'base64') skips characters that are not base64, and decodeURIComponent
      // throws on a bad escape: either would be a silently different or an untyped failure.
      let name: string;
      try {
        name = decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length));
      } catch {
        throw new TarLayerError(layer, entry, `malformed PAX record: ${k.slice(0, 80)} is not a valid %-encoded name`);
      }
      if (name === '') throw new TarLayerError(layer, entry, 'malformed PAX record: an xattr with an empty name (setxattr refuses it)');
      if (!BASE64.test(v) || v.length % 4 === 1) throw new TarLayerError(layer, entry, `malformed PAX record: ${k.slice(0, 80)} is not base64`);
      out[name] = Buffer.from(v, 'base64');
    }
  }
  for (const [name, value] of Object.entries(out)) {
    // A SCHILY name with a NUL is refused with its record (pax-records.ts); a %00 decodes to one.
    if (name.includes('\0')) throw new TarLayerError(layer, entry, `malformed PAX record: xattr name ${JSON.stringify(name.slice(0, 80)).slice(1, -1)} contains a NUL byte (setxattr would end the name there)`);
    const bytes = Buffer.byteLength(name);
    if (bytes > XATTR_NAME_MAX) throw new TarLayerError(layer, entry, `an xattr name of ${bytes} bytes, longer than XATTR_NAME_MAX (${XATTR_NAME_MAX}): setxattr refuses it (ERANGE)`);
    if (value.length > XATTR_SIZE_MAX) throw new TarLayerError(layer, entry, `the value of xattr ${name.slice(0, 80)} is ${value.length} bytes, more than XATTR_SIZE_MAX (${XATTR_SIZE_MAX}): setxattr refuses it (E2BIG)`);
  }
  return out;
}

/**
 * A GNU sparse file in PAX form (GNU tar `--sparse-version` 0.0, 0.1 or 1.0; bsdtar writes
 * 1.0 by default for a file with holes). tar-stream reads none of them: a 1.0 file came out
 * as `GNUSparseFile.0/<name>` holding the sparse map and the data segments, not the file.
 * Refused, naming the file as the archive means it; extracted, or re-archived without `-S`,
 * such a layer reads (GNU tar, Go's archive/tar and so containerd expand it).
 */
export function sparseFile(layer: string, entry: string, pax: Record<string, string>): TarLayerError {
  const version = pax['GNU.sparse.major'] !== undefined ? `${pax['GNU.sparse.major']}.${pax['GNU.sparse.minor'] ?? '?'}` : pax['GNU.sparse.map'] !== undefined ? '0.1' : '0.0';
  const name = pax['GNU.sparse.name'] ?? entry;
  return new TarLayerError(layer, name, `a GNU sparse file (PAX GNU.sparse.* records, format ${version}): sparse files are not supported; re-create the layer with the file stored whole (GNU tar without -S)`);
}

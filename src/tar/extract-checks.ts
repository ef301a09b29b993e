import { extract as tarExtract } from 'tar-stream';
import { blockName, headerFieldFault, longNameFault } from './header-fields.js';
import { keepExactOn } from './pax-xattrs.js';

/**
 * The checks TarLayer's streaming extract makes inside tar-stream 3's Extract, at the points
 * where it decodes what it reads. They are private methods of tar-stream's extract.js, patched
 * on each extract:
 * - `_consumeHeader`, through the `_buffer.shift(512)` it takes the header block with: the raw
 *   numeric fields are checked before tar-stream's parseInt reads them (header-fields.ts);
 * - `_decodeLongHeader`: each PAX header's raw body is seen before tar-stream decodes and
 *   applies it (pax-records.ts), exact xattr values are kept (pax-xattrs.ts), and a GNU long
 *   name that disagrees with the PAX path of the same entry is refused;
 * - `_applyLongHeaders`: a hard link's size is made 0, so the bytes after its header are read
 *   as the next header (GNU tar and Go read them so).
 * A check that silently did not run could smuggle entries, so `checkExtract` throws where any
 * of these internals is missing, and `extractChecksWork` runs crafted archives through a
 * checked extract once per process: each must be refused, or read, as the checks make it.
 * The header walk (header-walk.ts) makes the same checks on its own reads.
 */

interface BufferInternals {
  shifted: number;
  shift(size: number): Buffer | null;
}

interface ExtractInternals {
  _consumeHeader?: () => boolean;
  _decodeLongHeader?: (body: Buffer) => void;
  _applyLongHeaders?: () => void;
  _buffer?: BufferInternals;
  _locked?: boolean;
  _header?: { type?: string | null; name?: string; byteOffset?: number; size?: number } | null;
  _pax?: Record<string | symbol, unknown> | null;
  _paxGlobal?: Record<string, string> | null;
  _gnuLongPath?: string | null;
  _gnuLongLinkPath?: string | null;
}

/** A PAX header (local or global) about to be decoded: its ustar name, and where its body starts. */
export interface PaxHeaderSeen {
  name: string;
  byteOffset: number;
  global: boolean;
}

export interface ExtractChecks {
  /** A PAX header's raw body before tar-stream applies it: what this throws ends the extract. */
  paxHeader(body: Buffer, header: PaxHeaderSeen): void;
  /** The error that ends the extract for a header at `byteOffset` named `name` (latin1) with `fault`. */
  refuse(name: string, byteOffset: number, fault: string): Error;
}

/**
 * Makes `extract` (a tar-stream 3 Extract) run `checks` (see above). Throws when this
 * tar-stream's Extract lacks an internal the checks use: nothing is read unchecked.
 */
export function checkExtract(extract: object, checks: ExtractChecks): void {
  const x = extract as ExtractInternals;
  const decode = x._decodeLongHeader;
  const consume = x._consumeHeader;
  const apply = x._applyLongHeaders;
  const buffer = x._buffer;
  const missing = [
    typeof decode !== 'function' && '_decodeLongHeader',
    typeof consume !== 'function' && '_consumeHeader',
    typeof apply !== 'function' && '_applyLongHeaders',
    (typeof buffer?.shift !== 'function' || typeof buffer.shifted !== 'number') && '_buffer.shift',
    !('_header' in x) && '_header',
    !('_pax' in x) && '_pax',
    !('_gnuLongPath' in x) && '_gnuLongPath',
    !('_gnuLongLinkPath' in x) && '_gnuLongLinkPath',
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`this tar-stream's Extract has no ${missing.join(', ')} (tar-stream 3 has them): its headers cannot be checked before they apply, so no layer is read with it`);
  const shift = buffer!.shift;
  let headerAt = -1; // where the header block _consumeHeader is about to take starts; -1: not taking one
  buffer!.shift = function (this: BufferInternals, size: number) {
    const block = shift.call(this, size);
    if (headerAt >= 0 && size === 512 && block) {
      const at = headerAt;
      headerAt = -1;
      const fault = headerFieldFault(block);
      // Thrown inside _consumeHeader's try: tar-stream ends the write with it.
      if (fault !== undefined) throw checks.refuse(blockName(block), at, fault);
    }
    return block;
  };
  x._consumeHeader = function (this: ExtractInternals) {
    headerAt = this._locked ? -1 : this._buffer!.shifted;
    try {
      return consume!.call(this);
    } finally {
      headerAt = -1;
    }
  };
  x._decodeLongHeader = function (this: ExtractInternals, body: Buffer) {
    const type = this._header?.type;
    if (type === 'pax-header' || type === 'pax-global-header') {
      checks.paxHeader(body, { name: this._header?.name ?? '', byteOffset: this._header?.byteOffset ?? 0, global: type === 'pax-global-header' });
    }
    decode!.call(this, body);
    // A global header's records are ignored (pax-records.ts): tar-stream would merge them into
    // the next entries that have a PAX header of their own.
    if (type === 'pax-global-header') this._paxGlobal = null;
    if (type === 'pax-header' && this._pax) keepExactOn(this._pax, body);
    const fault = longNameFault(this._gnuLongPath ?? null, this._gnuLongLinkPath ?? null, this._pax as Record<string, string> | null);
    if (fault !== undefined) throw checks.refuse(this._header?.name ?? '', (this._header?.byteOffset ?? 512) - 512, fault);
  };
  x._applyLongHeaders = function (this: ExtractInternals) {
    apply!.call(this);
    // A hard link has no data (GNU tar -t and -x, Go's isHeaderOnlyType): what follows is a header.
    if (this._header?.type === 'link') this._header.size = 0;
  };
}

/** A header block (ustar, checksum set) for the self-test. */
function block(name: string, typeflag: string, size: string, extra: Record<number, string> = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'latin1');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  b.write(size, 124, 'latin1');
  b.write('00000000000\0', 136, 'latin1');
  b.write(typeflag, 156, 'latin1');
  b.write('ustar\x0000', 257, 'latin1');
  for (const [at, text] of Object.entries(extra)) b.write(text, Number(at), 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

const pad = (body: string): Buffer => {
  const b = Buffer.from(body, 'latin1');
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
};
const octal = (n: number): string => `${n.toString(8).padStart(11, '0')}\0`;
const END = Buffer.alloc(1024);

/** The names a checked extract yields for `tar`, or the message of the error that stopped it. */
async function run(tar: Buffer): Promise<string[] | string> {
  const x = tarExtract({ filenameEncoding: 'latin1' } as Parameters<typeof tarExtract>[0]);
  checkExtract(x, {
    paxHeader: (body) => {
      if (body.includes('bad')) throw new Error('pax seen');
    },
    refuse: (_name, _at, fault) => new Error(fault),
  });
  const names: string[] = [];
  try {
    const done = (async () => {
      for await (const entry of x as AsyncIterable<{ header: { name: string }; resume(): void }>) {
        names.push(entry.header.name);
        entry.resume();
      }
    })();
    x.end(tar);
    await done;
    return names;
  } catch (e) {
    return (e as Error).message;
  }
}

let selfTest: Promise<void> | undefined;

/**
 * Resolves once crafted archives have shown every check in `checkExtract` running in this
 * tar-stream (a PAX header seen, a junk size refused, a GNU long name disagreeing with the
 * PAX path refused, a hard link's size ignored); rejects naming the check that did not run.
 * Run once per process.
 */
export function extractChecksWork(): Promise<void> {
  selfTest ??= (async () => {
    const pax = (records: string) => Buffer.concat([block('PaxHeader', 'x', octal(records.length)), pad(records)]);
    const expectations: Array<[string, Buffer, (r: string[] | string) => boolean]> = [
      ['a PAX header seen before it applies', Buffer.concat([pax('8 a=bad\n'), block('f', '0', octal(0)), END]), (r) => r === 'pax seen'],
      ['a malformed size field refused', Buffer.concat([block('f', '0', '0000000001x\0'), END]), (r) => typeof r === 'string' && r.includes('malformed size')],
      ['a GNU long name and a PAX path that differ refused', Buffer.concat([block('././@LongLink', 'L', octal(2)), pad('a\0'), pax('10 path=b\n'), block('f', '0', octal(0)), END]), (r) => typeof r === 'string' && r.includes('GNU long name')],
      ['a hard link read as header-only', Buffer.concat([block('h', '1', octal(512), { 157: 'f' }), block('inner', '0', octal(0)), END]), (r) => Array.isArray(r) && r.join() === 'h,inner'],
    ];
    for (const [what, tar, ok] of expectations) {
      const got = await run(tar);
      if (!ok(got)) throw new Error(`tar-stream's Extract does not work as the layer checks need (${what}: got ${JSON.stringify(got)}), so no layer is read with it`);
    }
  })();
  return selfTest;
}

import { readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { keepExactOn } from './pax-xattrs.js';
import { paxHeaderFault } from './pax-records.js';
import { decodePlainHeader } from './plain-header.js';
import { CHUNK_BYTES, SequentialReader, type ChunkSink } from './sequential-reader.js';
import { HEADER_ONLY, headerFieldFault, longNameFault } from './header-fields.js';
import type { TarHeader } from './tar-header.js';

/**
 * Indexing an uncompressed tar on disk by decoding only the blocks that hold headers.
 *
 * A streaming extract must be fed every byte, content included, even where the content stays
 * on disk; this pass jumps from header to header instead: by position, or over the chunks of
 * one sequential read of the file when the caller hashes those same chunks. The plain ustar header
 * of an ordinary entry is decoded by plain-header.ts, which gives what tar-stream's decode
 * gives (and is checked against it); every other header, PAX records and GNU long names go
 * through tar-stream's own codec (its headers.js, which its package does not export, hence
 * the path lookup), and the order in which long headers apply follows tar-stream's Extract
 * (extract.js, `_applyLongHeaders`, `_decodeLongHeader`). This module only chooses which
 * bytes to decode.
 *
 * It takes the well-formed case only. Anything else — a header tar-stream refuses, a record
 * or an entry that runs past the end of the file, a size that is not a whole number, a file
 * shorter than it was, a header the streaming extract's checks refuse (extract-checks.ts: a
 * malformed numeric field or PAX header, a GNU long name disagreeing with the PAX path) —
 * makes it give up (`false`), and the caller runs the streaming extract over the whole file:
 * the errors and edge cases stay that pass's, and both paths are checked to give the same
 * index (test/layer/header-walk.test.ts). Like that extract, it reads the bytes after a hard
 * link's header as the next header, whatever its size says (GNU tar and Go do).
 */

interface HeaderCodec {
  decode(block: Buffer, filenameEncoding: string, allowUnknownFormat: boolean): TarHeader | null;
  decodePax(body: Buffer): Record<string, string>;
  decodeLongPath(body: Buffer, encoding: string): string;
}

/** tar-stream's header codec, or undefined if this tar-stream has none where 3.x keeps it. */
const codec: HeaderCodec | undefined = (() => {
  try {
    const require = createRequire(import.meta.url);
    const found = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as Partial<HeaderCodec>;
    return typeof found.decode === 'function' && typeof found.decodePax === 'function' && typeof found.decodeLongPath === 'function'
      ? found as HeaderCodec : undefined;
  } catch {
    return undefined;
  }
})();

/** Long-header bodies larger than this are refused by tar-stream (extract.js MAX_HEADER_SIZE). */
const MAX_LONG_HEADER = 4 * 1024 * 1024;
/** Without a sink, headers are read through a window this large: small files' headers come in one read. */
const WINDOW = 16 * 1024;
/**
 * After a file of a quarter window or more, a read this large: enough for a header and its
 * PAX header. A window then holds three headers at most, and copying 16 KiB to find one or
 * two cost more than reading each.
 */
const AFTER_LARGE_FILE = 2048;
/** The walk yields to the event loop this often (headers), so a large layer does not stall it. */
const YIELD_EVERY = 2048;

/** Padding after `size` bytes up to the next 512-byte block. */
function padding(size: number): number {
  const rest = size % 512;
  return rest === 0 ? 0 : 512 - rest;
}

class GiveUp extends Error {}

/**
 * The reads of a walk whose caller hashes the file itself (a hashing worker reading it
 * alongside, hash-file.ts): only the blocks that hold headers, by pread through a window,
 * jumping over content. (With a sink, the walk reads the whole file once instead,
 * sequential-reader.ts: the hash needs every byte.)
 */
class WindowReader {
  private readonly window = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private length = 0;
  private readAhead = WINDOW;

  constructor(private readonly fd: number) {}

  view(at: number, length: number): Buffer | undefined {
    const offset = at - this.start;
    return offset >= 0 && offset + length <= this.length ? this.window.subarray(offset, offset + length) : undefined;
  }

  /** `length` bytes at `at`: a view of the window, or a fresh buffer for a long record; undefined if the file ends first. */
  load(at: number, length: number): Buffer | undefined {
    const into = length > WINDOW ? Buffer.allocUnsafe(length) : this.window;
    const want = Math.max(length, Math.min(this.readAhead, into.length));
    let got = 0;
    while (got < want) {
      const n = readSync(this.fd, into, got, want - got, at + got);
      if (n === 0) break;
      got += n;
    }
    if (got < length) return undefined;
    if (into === this.window) {
      this.start = at;
      this.length = got;
    }
    return into.subarray(0, length);
  }

  /** After an entry with content of `size` bytes: how far to read at the next header. */
  passed(size: number): void {
    this.readAhead = size >= WINDOW / 4 ? AFTER_LARGE_FILE : WINDOW;
  }

  finish(): void {}
}

/**
 * Calls `onEntry` with every entry header of the tar in `fd` (`fileSize` bytes) in order, as
 * tar-stream's Extract would emit them; false if it gave up because the archive is not
 * plainly well formed (see above), after which the caller discards what it was given. An
 * error thrown by `onEntry` ends the walk and is passed on. Each header is handed on as soon
 * as it is read, so none outlives its entry (a list of 20,000 kept the collector busy).
 *
 * With a `sink` (a caller that hashes the file on this thread), the file is read once, front
 * to back, in large chunks (sequential-reader.ts), and a walk that completes hands every byte
 * of it, to its end (at most `fileSize + 1` bytes: a file that grew shows as one byte too
 * many), to `sink` in order: the caller's digest. (`chunkBytes`, a multiple of 512, is for
 * tests: records that span chunks.) Without one, only header blocks are read (WindowReader).
 */
export async function walkHeaders(fd: number, fileSize: number, onEntry: (header: TarHeader) => void, sink?: ChunkSink, chunkBytes = CHUNK_BYTES): Promise<boolean> {
  if (!codec) return false;
  const reader = sink ? new SequentialReader(fd, fileSize + 1, sink, chunkBytes) : new WindowReader(fd);
  /** `length` bytes at `at`: a view of what was read, or a copy of a record that spans chunks. */
  const bytes = (at: number, length: number): Buffer => {
    if (at + length > fileSize) throw new GiveUp();
    const got = reader.view(at, length) ?? reader.load(at, length);
    if (got === undefined) throw new GiveUp(); // the file is shorter than it was
    return got;
  };

  let handing = false; // an error thrown while onEntry runs is the caller's: passed on
  let pax: Record<string | symbol, unknown> | null = null;
  let longPath: string | null = null;
  let longLinkPath: string | null = null;
  try {
    for (let at = 0, seen = 0; at < fileSize;) {
      if (++seen % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      const block = bytes(at, 512);
      if (headerFieldFault(block) !== undefined) return false;
      const header = decodePlainHeader(block) ?? codec.decode(block, 'latin1', false);
      at += 512;
      if (header === null) continue; // a zero block: tar-stream reads on
      header.byteOffset = at;
      const type = header.type;
      if (type === 'gnu-long-path' || type === 'gnu-long-link-path' || type === 'pax-global-header' || type === 'pax-header') {
        const size = header.size;
        if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_LONG_HEADER) return false;
        const body = bytes(at, size);
        // A PAX header to refuse: the streaming pass refuses it, naming it (pax-records.ts).
        if ((type === 'pax-header' || type === 'pax-global-header') && paxHeaderFault(body, type === 'pax-global-header') !== undefined) return false;
        if (type === 'gnu-long-path') longPath = codec.decodeLongPath(body, 'latin1');
        else if (type === 'gnu-long-link-path') longLinkPath = codec.decodeLongPath(body, 'latin1');
        else if (type === 'pax-header') {
          // A global header's records are ignored, as checkExtract makes the extract ignore them.
          pax = codec.decodePax(body);
          keepExactOn(pax, body); // byte-exact xattr values, as checkExtract gives the extract
        }
        if (longNameFault(longPath, longLinkPath, pax as Record<string, string> | null) !== undefined) return false;
        at += size + padding(size);
        if (at > fileSize) return false;
        continue;
      }
      // Long headers apply to the next entry, in tar-stream's order.
      if (longPath) {
        header.name = longPath;
        longPath = null;
      }
      if (longLinkPath) {
        header.linkname = longLinkPath;
        longLinkPath = null;
      }
      if (pax) {
        const p = pax as Record<string, string>;
        if (p.path) header.name = p.path;
        if (p.linkpath) header.linkname = p.linkpath;
        if (p.size) header.size = parseInt(p.size, 10);
        header.pax = p;
        pax = null;
      }
      if (!Number.isSafeInteger(header.size) || header.size < 0) return false;
      if (type === 'link') header.size = 0; // as checkExtract gives the extract
      handing = true;
      onEntry(header);
      handing = false;
      // No content follows a header-only entry, whatever its size says (header-fields.ts).
      if (header.size > 0 && !HEADER_ONLY.has(type ?? '')) {
        at += header.size + padding(header.size);
        if (at > fileSize) return false;
        if (reader instanceof WindowReader) reader.passed(header.size);
      }
    }
    // A long header with no entry after it: the streaming pass decides what that means.
    if (longPath !== null || longLinkPath !== null || pax !== null) return false;
    reader.finish();
    return true;
  } catch (e) {
    if (handing) throw e;
    // tar-stream's decoder refused a header (checksum, format), the file ended early or a
    // read failed: the streaming pass will say so, naming where.
    return false;
  }
}

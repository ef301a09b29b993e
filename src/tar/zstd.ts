import { createRequire } from 'node:module';
import { Duplex, Transform, type TransformCallback } from 'node:stream';
import { TarError } from './tar-error.js';

/**
 * zstd through libzstd itself: zstd-napi, a Node-API binding that builds the libzstd it vendors
 * with node-gyp when no prebuilt binary is fetched. This is the one module that knows the
 * binding: layers are decoded (zstdDecoder) and written (zstdEncoder) through it, with the
 * same library as the `zstd` command, so frames are checked as `zstd -t` checks them (content
 * checksums when a frame has one, skippable frames anywhere, any number of frames, a window
 * over 128 MiB refused as by the command's default memory limit: libzstd's
 * ZSTD_WINDOWLOG_LIMIT_DEFAULT).
 */

/** Bytes left to flush in the current frame (0: at a frame's end), bytes written, bytes read. */
type StreamResult = [number, number, number];

interface Binding {
  DCtx: new () => { decompressStream(dst: Uint8Array, src: Uint8Array): StreamResult };
  CCtx: new () => {
    setParameter(param: number, value: number): void;
    compressStream2(dst: Uint8Array, src: Uint8Array, end: number): StreamResult;
  };
  CParameter: { compressionLevel: number; checksumFlag: number };
  EndDirective: { continue: number; end: number };
}

/** zstd-napi's native binding is not there (its install script did not run, or could not build it). */
export class ZstdUnavailable extends TarError {
  constructor(cause: unknown) {
    super('ERR_ZSTD_UNAVAILABLE', `zstd needs the native binding of zstd-napi (an optional dependency of layerfs), which is not installed or not built (${(cause as Error).message.split('\n')[0]}). `
      + 'Install it with its install script allowed: npm install zstd-napi, then npm install-scripts approve zstd-napi and npm rebuild zstd-napi (npm 11 runs no install script unless approved); '
      + 'offline, that builds libzstd with node-gyp, which needs a C compiler and Node\'s headers', { cause });
    this.name = 'ZstdUnavailable';
  }
}

let binding: Binding | undefined;

function libzstd(): Binding {
  if (binding) return binding;
  try {
    binding = createRequire(import.meta.url)('zstd-napi/binding') as Binding;
  } catch (e) {
    throw new ZstdUnavailable(e);
  }
  return binding;
}

/** Throws ZstdUnavailable unless the binding loads: for checking options before anything is written. */
export function requireZstd(): void {
  libzstd();
}

/** Output comes in chunks this large, filled across frames (decoded chunks become file content, content-views.ts). */
export const ZSTD_OUT_CHUNK = 1 << 20;

/** A zstd stream that libzstd refused: what failed, and where in the compressed stream. */
export class ZstdStreamError extends TarError {
  constructor(readonly where: string, reason: string) {
    super('ERR_ZSTD_STREAM', `zstd: ${reason}`);
    this.name = 'ZstdStreamError';
  }
}

/**
 * A zstd stream decoded chunk by chunk. An async generator, so the decoder waits while the
 * stages after it are busy: one input chunk of a zstd bomb can stand for gigabytes, and
 * decoding it all in one call, ahead of the byte limit, would hold them in memory. Output
 * fills one 1 MiB buffer across frames and is handed on when full (and at the end), so a
 * stream of many tiny frames does not become one chunk, and one 1 MiB buffer, per frame.
 * A frame whose window is large waits for its share of a process-wide budget (windowBudget).
 */
export function zstdDecoder(): Duplex {
  const z = libzstd();
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    const dctx = new z.DCtx();
    let out = Buffer.allocUnsafe(ZSTD_OUT_CHUNK);
    let filled = 0;
    let read = 0; // compressed bytes taken by the decoder
    let frames = 0; // frames done (skippable ones included)
    let frameAt = 0; // where the current frame starts in the compressed stream
    let atFrameStart = true;
    let header: FrameHeader | undefined;
    let pending: Buffer | undefined; // the start of a frame header cut by the end of a chunk
    let held = 0;
    const fail = (e: unknown): ZstdStreamError => new ZstdStreamError(`zstd frame ${frames + 1} (at byte ${frameAt} of the compressed layer)`, `${(e as Error).message}${describeFailure(header, (e as Error).message)}`);
    try {
      for await (const chunk of source) {
        let src: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
        pending = undefined;
        for (;;) {
          if (atFrameStart) {
            if (src.length === 0) break;
            const h = frameHeader(src);
            if (h === 'more') {
              pending = src;
              break;
            }
            header = h;
            // Release before taking more: a decoder never waits while it holds a share.
            const need = Math.min(h?.window ?? 0, WINDOW_BUDGET);
            if (need > LARGE_WINDOW && need > held) {
              windowBudget.give(held);
              held = 0;
              await windowBudget.take(need);
              held = need;
            }
            atFrameStart = false;
          }
          let result: StreamResult;
          try {
            result = dctx.decompressStream(out.subarray(filled), src);
          } catch (e) {
            throw fail(e);
          }
          const [left, written, taken] = result;
          src = src.subarray(taken);
          read += taken;
          filled += written;
          if (left === 0) {
            frames++;
            frameAt = read;
            atFrameStart = true;
          }
          if (filled === out.length) {
            // Full: hand it on, and ask again (the decoder may hold more for this input).
            yield out;
            out = Buffer.allocUnsafe(ZSTD_OUT_CHUNK);
            filled = 0;
          } else if (src.length === 0) break; // room left and the input used: the decoder needs more
        }
      }
      if (filled > 0) yield out.subarray(0, filled);
      if (pending) throw fail(new Error(`the stream ends inside a frame header (${pending.length} bytes)`));
      if (!atFrameStart) throw fail(new Error('the stream ends inside a frame (truncated)'));
    } finally {
      windowBudget.give(held);
    }
  });
}

/** A stream compressed as one zstd frame (with a content checksum, as the zstd command writes), in 1 MiB output chunks. */
export function zstdEncoder(level: number): Transform {
  const z = libzstd();
  const cctx = new z.CCtx();
  cctx.setParameter(z.CParameter.compressionLevel, level);
  cctx.setParameter(z.CParameter.checksumFlag, 1);
  let out = Buffer.allocUnsafe(ZSTD_OUT_CHUNK);
  let filled = 0;
  const pump = (stream: Transform, input: Buffer, end: boolean): void => {
    let src = input;
    for (;;) {
      const [left, written, taken] = cctx.compressStream2(out.subarray(filled), src, end ? z.EndDirective.end : z.EndDirective.continue);
      src = src.subarray(taken);
      filled += written;
      if (filled === out.length || (end && left === 0 && filled > 0)) {
        stream.push(filled === out.length ? out : out.subarray(0, filled));
        out = Buffer.allocUnsafe(ZSTD_OUT_CHUNK);
        filled = 0;
      }
      if (end ? left === 0 : src.length === 0 && filled < out.length) return;
    }
  };
  return new Transform({
    transform(this: Transform, chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      try {
        pump(this, chunk, false);
      } catch (e) {
        return done(e as Error);
      }
      done();
    },
    flush(this: Transform, done: TransformCallback) {
      try {
        pump(this, Buffer.alloc(0), true);
      } catch (e) {
        return done(e as Error);
      }
      done();
    },
  });
}

/**
 * Decoding holds about a window of memory (RFC 8878 3.1.1.1.2 "Window_Descriptor": the
 * decoder keeps that much history), up to 128 MiB a frame. Layers are opened in parallel,
 * one per core, so frames with windows over LARGE_WINDOW (the zstd command's levels 1-19
 * use 8 MiB at most; `--long` and `--ultra` more) take a share of a budget of one largest
 * window first, and wait for it: a stack of `--long=27` layers decodes one such frame at a
 * time, whatever the number of cores.
 */
const LARGE_WINDOW = 8 << 20;
const WINDOW_BUDGET = 128 << 20;

class Budget {
  private free: number;
  private readonly waiting: Array<{ need: number; go: () => void }> = [];

  constructor(size: number) {
    this.free = size;
  }

  take(need: number): Promise<void> {
    if (this.waiting.length === 0 && need <= this.free) {
      this.free -= need;
      return Promise.resolve();
    }
    return new Promise((go) => this.waiting.push({ need, go }));
  }

  give(amount: number): void {
    this.free += amount;
    // First come, first served: a large request is not overtaken for ever by small ones.
    while (this.waiting.length > 0 && this.waiting[0]!.need <= this.free) {
      const next = this.waiting.shift()!;
      this.free -= next.need;
      next.go();
    }
  }
}

const windowBudget = new Budget(WINDOW_BUDGET);

/** What a frame header says (RFC 8878 3.1.1.1), as far as this module needs it. */
interface FrameHeader {
  skippable: boolean;
  /** Bytes of history the frame needs; 0 for a skippable frame. */
  window: number;
  /** The dictionary the frame was compressed with (0: none). */
  dictionary: number;
}

/**
 * The header of the frame at the start of `b`: 'more' when `b` is too short to tell,
 * undefined when it is no frame (libzstd then says what is wrong).
 */
function frameHeader(b: Buffer): FrameHeader | 'more' | undefined {
  if (b.length < 4) return 'more';
  const magic = b.readUInt32LE(0);
  if ((magic & 0xfffffff0) === 0x184d2a50) return { skippable: true, window: 0, dictionary: 0 };
  if (magic !== 0xfd2fb528) return undefined;
  if (b.length < 6) return 'more';
  const descriptor = b[4]!;
  const contentSizeBytes = [0, 2, 4, 8][descriptor >> 6]!;
  const singleSegment = (descriptor & 0x20) !== 0;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
  let at = 5;
  let window = 0;
  if (!singleSegment) {
    // Window_Descriptor: exponent and mantissa (3.1.1.1.2).
    const w = b[at++]!;
    const base = 2 ** (10 + (w >> 3));
    window = base + (base / 8) * (w & 7);
  }
  const end = at + dictionaryBytes + (singleSegment && contentSizeBytes === 0 ? 1 : contentSizeBytes);
  if (b.length < end) return 'more';
  let dictionary = 0;
  for (let i = 0; i < dictionaryBytes; i++) dictionary += b[at + i]! * 2 ** (8 * i);
  at += dictionaryBytes;
  if (singleSegment) {
    // The window is the content size (Frame_Content_Size, 3.1.1.1.4; 2 bytes hold size - 256).
    const bytes = contentSizeBytes === 0 ? 1 : contentSizeBytes;
    let size = 0;
    for (let i = 0; i < bytes; i++) size += b[at + i]! * 2 ** (8 * i);
    window = bytes === 2 ? size + 256 : size;
  }
  return { skippable: false, window, dictionary };
}

/** A word on what libzstd's message means for a layer. */
function describeFailure(header: FrameHeader | undefined, message: string): string {
  if (header?.dictionary && /dictionary/i.test(message)) return ` (the frame was compressed with dictionary ${header.dictionary}; a layer cannot name one)`;
  if (header && header.window > WINDOW_BUDGET) return ` (its window is ${header.window} bytes; the zstd command's limit, kept here, is ${WINDOW_BUDGET})`;
  return '';
}

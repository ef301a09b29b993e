import { HashingStream } from '../tar/hashing-stream.js';
import { isUtf8 } from 'node:buffer';
import { pipeline, type Readable } from 'node:stream';
import { pack as tarPack } from 'tar-stream';
import type { ContentReader, TarEntry } from '../tar/changeset.js';
import { tarTypeOf, type TarHeaderToWrite } from '../tar/tar-header.js';
import { major, minor } from '../util/device.js';
import { compressor, LAYER_MEDIA_TYPE, type OutputCompression } from '../tar/compress.js';
import { RAW_XATTRS, writeExactXattrs } from '../tar/pax-xattrs.js';
import { checkTarWriteOptions } from './options.js';
import { asText, hasRawBytes } from '../util/names.js';
import { ExportError } from './export-error.js';

export interface TarWriteOptions {
  /** `gzip` (the OCI default; exportTar's default is `none`), `zstd` or `none`. */
  compression?: OutputCompression;
  /**
   * Clamp every mtime to at most this time (whole seconds since the epoch, 0 to
   * 253402300799), as SOURCE_DATE_EPOCH asks of reproducible builds; omitted, times are kept.
   */
  sourceDateEpoch?: number;
}

export interface TarWriteResult {
  /** The (compressed) bytes as they will be stored. */
  stream: Readable;
  /** Digest and sizes, once the stream has been read to its end. */
  info: Promise<{
    digest: string;
    diffId: string;
    size: number;
    uncompressedSize: number;
    mediaType: string;
    /** How many entries the tar holds (PAX headers are part of their entry). */
    entries: number;
    /**
     * Extended attributes whose value is not valid UTF-8 that were written changed: empty
     * unless tar-stream's internals differ from what pax-xattrs.ts patches (docs/export.md).
     */
    lossyXattrs: Array<{ path: string; name: string }>;
  }>;
}

/** The largest value the 8-byte octal uid/gid fields hold; larger ones go in PAX records. */
const OCTAL7_MAX = 0o7777777;
/**
 * The mtimes tar-stream writes as they are: it puts `seconds | 0` in the 12-byte field, so
 * anything before 1970 or from 2038 on would come out changed. Those go in a PAX `mtime`
 * record (POSIX pax, "mtime"; any sign), with the field clamped.
 */
const USTAR_MTIME_MAX = 2 ** 31 - 1;
/** The longest name a ustar header holds: a 155-byte prefix, '/', a 100-byte name. */
const USTAR_NAME_MAX = 256;

/**
 * Writes entries as a deterministic tar (the order given, headers normalised: no user or
 * group names, PAX only where a field does not fit), then compresses it, measuring the
 * diff_id of the tar and the digest of what is stored. The options are checked first
 * (src/export/options.ts): a bad one throws here, before any byte is produced.
 */
export function writeTar(entries: Iterable<TarEntry>, options: TarWriteOptions = {}, defaultCompression: OutputCompression = 'gzip'): TarWriteResult {
  const { compression, sourceDateEpoch } = checkTarWriteOptions(options, defaultCompression);
  const pack = tarPack();
  const exact = writeExactXattrs(pack);
  const tarHash = new HashingStream();
  const clamp = sourceDateEpoch !== undefined ? sourceDateEpoch * 1000 : Infinity;
  const lossyXattrs: Awaited<TarWriteResult['info']>['lossyXattrs'] = [];
  let written = 0;

  const fill = async () => {
    for (const e of entries) {
      // Names that are not UTF-8 (layerfs keeps their bytes, util/names.ts) cannot go
      // through tar-stream, which writes text: refused rather than written as another name.
      for (const [what, s] of [['name', e.path], ['link target', e.linkTarget]] as const) {
        if (s !== undefined && hasRawBytes(s)) throw new ExportError(`/${asText(e.path).replace(/^\.?\//, '')}`, `its ${what} is not valid UTF-8; the tar writer cannot keep those bytes exactly`);
      }
      const pax: Record<string, string> = {};
      const binary: string[] = [];
      for (const [k, v] of e.xattrs ?? []) {
        pax[`SCHILY.xattr.${k}`] = v.toString('utf8');
        if (!isUtf8(v)) binary.push(k);
      }
      // Values that are not UTF-8 go through pax-xattrs.ts as bytes; only without it are they changed.
      if (!exact) for (const name of binary) lossyXattrs.push({ path: e.path, name });
      if (e.uid > OCTAL7_MAX) pax.uid = String(e.uid);
      if (e.gid > OCTAL7_MAX) pax.gid = String(e.gid);
      const mtime = Math.min(e.mtimeMs, clamp);
      const seconds = Math.floor(mtime / 1000);
      if (seconds < 0 || seconds > USTAR_MTIME_MAX) pax.mtime = String(seconds);
      const header: TarHeaderToWrite & { [RAW_XATTRS]?: TarEntry['xattrs'] } = {
        name: e.path,
        type: tarTypeOf(e.type),
        // tar-stream replaces a falsy mode with its default (0644/0755): a type bit keeps mode 0
        // (/etc/shadow is 0000 on some distributions) while the header still gets mode & 07777.
        mode: (e.mode & 0o7777) | 0o100000,
        uid: e.uid > OCTAL7_MAX ? 0 : e.uid,
        gid: e.gid > OCTAL7_MAX ? 0 : e.gid,
        uname: '',
        gname: '',
        mtime: new Date(Math.min(Math.max(seconds, 0), USTAR_MTIME_MAX) * 1000),
        ...(e.linkTarget !== undefined ? { linkname: e.linkTarget } : {}),
        ...(e.type === 'char' || e.type === 'block' ? { devmajor: major(e.rdev ?? 0), devminor: minor(e.rdev ?? 0) } : {}),
        // A name no ustar header can hold goes straight to PAX: tar-stream would first try to
        // split it, cutting one component per pass and measuring the rest each time (cubic
        // in depth over a deep tree), to reach the same PAX header.
        ...(Object.keys(pax).length > 0 || e.path.length > USTAR_NAME_MAX ? { pax } : {}),
        ...(binary.length > 0 && exact ? { [RAW_XATTRS]: e.xattrs } : {}),
      };
      if (e.type === 'file' && e.content) await writeContent(pack, { ...header, size: e.content.size }, e.content);
      else {
        await new Promise<void>((resolve, reject) => {
          const done = (err?: Error | null) => (err ? reject(err) : resolve());
          if (e.type === 'file') pack.entry(header as never, e.data ?? Buffer.alloc(0), done);
          else pack.entry(header as never, done);
        });
      }
      // tar-stream takes a header or a Buffer whatever its reader holds (backpressure only
      // reaches content written piece by piece): while the stage it feeds is full, wait.
      if (tarHash.writableNeedDrain) await drained(tarHash);
      written++;
    }
    pack.finalize();
  };

  // Uncompressed, the stored bytes are the tar: one hash gives the digest and the diff_id.
  const outHash = compression === 'none' ? tarHash : new HashingStream();
  // pipeline, not pipe: an error in any stage (a zstd refusal) reaches the last and ends it.
  const ended = (e: Error | null) => {
    if (e) outHash.destroy(e);
  };
  if (compression === 'none') pipeline(pack, tarHash, ended);
  else pipeline(pack, tarHash, compressor(compression), outHash, ended);
  const filling = fill().catch((e: unknown) => outHash.destroy(e as Error));
  const info = new Promise<Awaited<TarWriteResult['info']>>((resolve, reject) => {
    outHash.on('error', reject);
    // Destroyed without an error (its reader stopped): no 'error' comes, and no 'finish'.
    let finished = false;
    outHash.on('close', () => {
      if (!finished) reject(new Error('the tar stream was closed before it was read to the end'));
    });
    outHash.on('finish', () => {
      finished = true;
      void filling.then(() => resolve({
        digest: outHash.digest(),
        diffId: tarHash.digest(),
        size: outHash.bytes,
        uncompressedSize: tarHash.bytes,
        mediaType: LAYER_MEDIA_TYPE[compression],
        entries: written,
        lossyXattrs,
      }));
    });
  });
  // A caller that only reads the stream still sees the error there; this keeps a rejected
  // `info` nobody awaits from becoming an unhandled rejection.
  info.catch(() => {});
  return { stream: outHash, info };
}

/** How much of a file is read from its layer at once: what the pipeline holds per stage. */
const CONTENT_PIECE = 256 * 1024;

type Pack = ReturnType<typeof tarPack>;

/** What pack.entry returns: a streamx Writable (typed as Node's, whose end() it does not match). */
interface EntrySink extends Emitter {
  on(event: 'error', f: (err: Error) => void): unknown;
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(err: Error): void;
}

interface Emitter {
  once(event: string, f: () => void): unknown;
  off(event: string, f: () => void): unknown;
}

/**
 * Writes one file whose content is read by position, a piece at a time, each piece read only
 * once tar-stream has passed the one before on (its push reports a full buffer: the writes
 * wait for the reader). A file that ends before its size is an error naming it, never a short
 * entry.
 */
async function writeContent(pack: Pack, header: TarHeaderToWrite & { size: number }, content: ContentReader): Promise<void> {
  let sink!: EntrySink;
  // tar-stream calls back once, when the entry is done or destroyed (with the error).
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header as never, (err) => (err ? reject(err) : resolve())) as unknown as EntrySink;
  });
  // streamx emits a destroyed entry's error as an event too, thrown when nobody listens.
  sink.on('error', () => {});
  try {
    for (let at = 0; at < header.size;) {
      const piece = Buffer.allocUnsafe(Math.min(CONTENT_PIECE, header.size - at));
      const n = content.readAt(piece, 0, piece.length, at);
      if (n !== piece.length) throw new ExportError(`/${header.name}`, `its content ended at byte ${at + n} of ${header.size}`);
      at += n;
      if (!sink.write(piece)) await drained(sink);
    }
    sink.end();
  } catch (e) {
    sink.destroy(e as Error);
  }
  await done;
}

/** Resolves once `stream` drains; rejects when it closes first (it was destroyed: no drain will come). */
function drained(stream: Emitter): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => (stream.off('close', onClose), resolve());
    const onClose = () => (stream.off('drain', onDrain), reject(new Error('the tar stream was closed before it was read to the end')));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}


/** Reads a stream to the end. */
export async function collectStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

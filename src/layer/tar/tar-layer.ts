// Over 300 lines: the tar reader's header walk and indexing in one pass; phase 2 splits it
// along its seams (issue 14 item 4, docs/architecture.md).
import { ContentStore } from './content-store.js';
import { checkTarLayerOptions } from './layer-options.js';
import { HashingStream } from '../../tar/hashing-stream.js';
import { hashFileInWorker, hashOpenFile, type FileDigest } from './hash-file.js';
import { walkHeaders } from '../../tar/header-walk.js';
import { entryTypeOf, isFileHeader, type TarHeader } from '../../tar/tar-header.js';
import { RAW_XATTRS } from '../../tar/pax-xattrs.js';
import { checkExtract, extractChecksWork, type PaxHeaderSeen } from '../../tar/extract-checks.js';
import { headerOnlySizeFault } from '../../tar/header-fields.js';
import { paxHeaderFault } from '../../tar/pax-records.js';
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import type { ContentRef, EntrySpec } from '../entry.js';
import { ContentFile, NotRegularFile } from '../content-file.js';
import { IndexedLayer } from '../indexed-layer.js';
import { LayerBuilder, LayerError } from '../layer-builder.js';
import { ByteLimit, decompressor, detectCompression, HandOff, type Compression } from '../../tar/decompress.js';
import { TarLayerError } from './errors.js';
import { ZstdStreamError, ZstdUnavailable } from '../../tar/zstd.js';
import { layerPath, PATH_MAX, printable, utf8Name } from '../../tar/entry-name.js';
import { makedev } from '../../util/device.js';
import { ext4TimeMs } from '../../util/ext4-times.js';

export interface TarLayerOptions {
  /** A label for reports and errors; the file name or `tar` by default. */
  name?: string;
  /** Bound on the uncompressed size (decompression bombs); 4 GiB by default. */
  maxBytes?: number;
  /** Bound on the number of entries (entry-count bombs); 1,000,000 by default. */
  maxEntries?: number;
  /**
   * Where file content stays. `'disk'` (the default): an uncompressed tar given by path is
   * indexed and its files read by position from it, through the descriptor the layer holds;
   * other content (inflated gzip/zstd, a Buffer or stream given) is held in memory up to
   * `memoryBytes`, the rest in a private spill file. `'memory'`: all content is held in
   * memory. See docs/layers.md.
   */
  content?: 'memory' | 'disk';
  /** Content held in memory per layer before the rest is spilled to a file; 4 MiB by default. */
  memoryBytes?: number;
  /** The directory spill files are made in (O_TMPFILE: they have no name); os.tmpdir() by default. */
  spillDir?: string;
}

/** What reading the tarball measured: the digests an image's manifest and config name it by. */
export interface TarLayerInfo {
  compression: Compression;
  /** sha256 of the bytes as given (compressed): the layer's digest in a manifest. */
  digest: string;
  /** sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry. */
  diffId: string;
  compressedSize: number;
  size: number;
  entryCount: number;
  /** File content is read from the tar on disk by offset (not held in memory). */
  contentOnDisk: boolean;
  /** Bytes of file content in the layer's private spill file (0: none was made). */
  spilledBytes: number;
}

/** Layer files (compressed or not) at least this large are hashed on a worker thread. */
const HASH_ASIDE_BYTES = 32 * 2 ** 20;
/** Content held in memory per layer before the rest spills (options.memoryBytes). */
const MEMORY_BYTES = 4 * 2 ** 20;

/**
 * A read-only layer read from an OCI/Docker layer tarball (plain, gzip or zstd, told apart by
 * magic bytes). An uncompressed tar file on disk is indexed by walking its headers and its
 * content stays there (read by position through the descriptor the layer holds, checked
 * unchanged on every read); anything else is indexed in one streaming pass, its content held
 * in memory up to `memoryBytes` and spilled to a private file beyond: docs/layers.md. A layer
 * read from a file holds it open until `close()` (or until the layer is collected).
 */
export class TarLayer extends IndexedLayer {
  private constructor(name: string, built: ReturnType<LayerBuilder['build']>, readonly info: TarLayerInfo, files: ContentFile[], private readonly source: ContentFile | undefined) {
    super(name, built, files);
  }

  static async from(source: string | Buffer | Readable, given: TarLayerOptions = {}): Promise<TarLayer> {
    const options = checkTarLayerOptions(given);
    const name = options.name ?? (typeof source === 'string' ? source : 'tar');
    // A path is opened once and held: the parse, the digest and every later read use the
    // same file, by position, even if the path is replaced meanwhile.
    const file = typeof source === 'string' ? openLayerFile(source, name) : undefined;
    const owned: ContentFile[] = file ? [file] : [];
    try {
      return await TarLayer.read(source, file, name, options, owned);
    } catch (e) {
      for (const f of owned) f.close();
      throw e;
    }
  }

  /**
   * The layer's bytes as given (compressed, as its digest covers them), read again from the
   * layer file it holds, checked unchanged after every read (a change is a LayerContentError,
   * ERR_LAYER_CHANGED, destroying the stream). Undefined for a layer not read from a file.
   */
  sourceStream(): Readable | undefined {
    return this.source?.stream();
  }

  private static async read(source: string | Buffer | Readable, file: ContentFile | undefined, name: string, options: TarLayerOptions, owned: ContentFile[]): Promise<TarLayer> {
    // tar-stream's Extract must run the checks (extract-checks.ts) before any layer is read,
    // by the header walk too: both paths must give the same result.
    await extractChecksWork().catch((e: unknown) => {
      throw new TarLayerError(name, '(start of archive)', (e as Error).message);
    });
    const maxBytes = options.maxBytes ?? 4 * 2 ** 30;
    const maxEntries = options.maxEntries ?? 1_000_000;
    const fileSize = file?.size ?? 0;
    // A file's magic bytes are read by position; a Buffer's or stream's from its first chunk.
    const sourceStream = file ? undefined : Buffer.isBuffer(source) ? Readable.from([source]) : source as Readable;
    const given = sourceStream && await peek(sourceStream);
    const compression = detectCompression(given?.head ?? magicBytes(file!, name));
    const onDisk = (options.content ?? 'disk') === 'disk' && file !== undefined && compression === 'none';
    // A large layer file is hashed on another thread while this one decompresses and parses
    // it; a worker costs tens of milliseconds to start, more than hashing a small layer here.
    // Not an uncompressed tar whose content this pass copies out (content: 'memory'): the
    // bytes kept must be the bytes hashed, and a write through a shared mapping moves no
    // timestamp that could tell the two reads apart. (Inflated content is hashed here anyway:
    // the diff_id.)
    const copiesPlain = compression === 'none' && !onDisk;
    const hashAside = file && fileSize >= HASH_ASIDE_BYTES && !copiesPlain ? hashFileInWorker(file.descriptor, fileSize + 1) : undefined;
    if (onDisk && fileSize <= maxBytes) {
      // Content stays on disk: read the header blocks only (header-walk.ts). An archive that
      // is not plainly well formed is left to the streaming pass below, errors and all.
      const walk = new EntryIndex(name, maxEntries);
      const complete = await walkHeaders(file.descriptor, fileSize, (h) => walk.next(h).addOnDisk(h, file)).catch(async (e: unknown) => {
        await hashAside?.stop();
        throw e;
      });
      if (complete) return TarLayer.fromWalk(walk, { name, file, hashAside });
    }

    // A file is read to its size as fstat gave it, plus one byte: one that grows shows as a
    // mismatch with the digest's count, and reads stop there.
    const input = file ? file.stream(undefined, { upTo: fileSize + 1 }) : given!.rest;

    const rawHash = new HashingStream();
    const limit = new ByteLimit(maxBytes, () => new TarLayerError(name, `byte ${maxBytes}`, `uncompressed size exceeds the bound of ${maxBytes} bytes (maxBytes)`));
    // latin1 keeps each name byte as one char, so invalid UTF-8 is seen, not replaced.
    const extract = tarExtract({ filenameEncoding: 'latin1' } as Parameters<typeof tarExtract>[0]);
    // Malformed numeric fields and PAX records refused before tar-stream reads them, xattr
    // values kept as bytes, hard links read as header-only (extract-checks.ts). A tar-stream
    // where this cannot be done is refused: its headers would apply unchecked.
    try {
      checkExtract(extract, {
        paxHeader(body, pax) {
          const fault = paxHeaderFault(body, pax.global);
          if (fault !== undefined) throw malformedPax(name, pax, fault);
        },
        refuse: (entry, at, fault) => malformedHeader(name, entry, at, fault),
      });
    } catch (e) {
      input.destroy();
      await hashAside?.stop();
      throw new TarLayerError(name, '(start of archive)', (e as Error).message);
    }
    const rawCount = new ByteLimit(); // counts what this pass reads (the worker hashes it)
    const tarHash = new HashingStream();
    let decoder: ReturnType<typeof decompressor>;
    try {
      decoder = decompressor(compression);
    } catch (e) {
      if (!(e instanceof ZstdUnavailable)) throw e;
      input.destroy();
      await hashAside?.stop();
      throw new TarLayerError(name, '(start of archive)', `a zstd layer, and ${e.message}`);
    }
    // An uncompressed layer's digest is its diff_id: hash it once.
    const stages = compression === 'none'
      ? [input, hashAside ? rawCount : rawHash, limit, extract]
      : [input, hashAside ? rawCount : rawHash, decoder, new HandOff(), limit, tarHash, extract];
    // Settles with the error that stopped the pipeline, if any (the extract is ended with it).
    const ended = pipeline(stages as unknown as [Readable, ...Transform[]]).then(() => undefined, (e: unknown) => {
      extract.destroy(e as Error);
      return e;
    });

    // Content the layer file cannot serve goes to memory, then to a spill file. Decompressor
    // output belongs to this layer: files can stay views into it.
    const store = onDisk ? undefined : new ContentStore({
      name,
      memoryBytes: options.content === 'memory' ? Number.POSITIVE_INFINITY : options.memoryBytes ?? MEMORY_BYTES,
      spillDir: options.spillDir ?? tmpdir(),
      ownChunks: compression !== 'none',
      onSpillFile: (f) => owned.push(f),
    });
    // Whatever stops the pass stops the hashing worker too (it must not go on reading the file).
    try {
      const index = await indexEntries(extract, {
        name, maxEntries, limit, input: sourceStream ?? input,
        file: onDisk ? file : undefined,
        store,
        ended,
      });
      // Build the index while the worker (if any) finishes hashing.
      const built = index.builder.build();
      await store?.finish(built.content);
      const raw = await fileDigest(name, hashAside, hashAside ? rawCount.bytes : rawHash.bytes, () => ({ digest: rawHash.digest(), bytes: rawHash.bytes }));
      if (file) unchangedSinceOpen(file, name, raw);
      const info: TarLayerInfo = {
        compression,
        digest: raw.digest,
        diffId: compression === 'none' ? raw.digest : tarHash.digest(),
        compressedSize: raw.bytes,
        size: compression === 'none' ? raw.bytes : tarHash.bytes,
        entryCount: index.count,
        contentOnDisk: onDisk,
        spilledBytes: store?.spilledBytes ?? 0,
      };
      return new TarLayer(name, built, info, owned, file);
    } catch (e) {
      await hashAside?.stop();
      await store?.settled(); // from() then closes the files
      await streamClosed(input); // no read of the file in flight either
      throw e;
    }
  }

  /** The layer from a complete walk (content on disk), with the file's digest. */
  private static async fromWalk(walk: EntryIndex, w: WalkContext): Promise<TarLayer> {
    try {
      // Build the index while the worker (if any) finishes hashing.
      const built = walk.builder.build();
      const raw = await fileDigest(w.name, w.hashAside, w.file.size, () => hashOpenFile(w.file.descriptor, readSync, createHash, w.file.size + 1));
      unchangedSinceOpen(w.file, w.name, raw);
      const info: TarLayerInfo = {
        compression: 'none', digest: raw.digest, diffId: raw.digest, compressedSize: raw.bytes, size: raw.bytes,
        entryCount: walk.count, contentOnDisk: true, spilledBytes: 0,
      };
      return new TarLayer(w.name, built, info, [w.file], w.file);
    } catch (e) {
      await w.hashAside?.stop();
      throw e;
    }
  }
}

/** Opens the layer file `path` to hold; anything but a regular file is refused at once. */
function openLayerFile(path: string, name: string): ContentFile {
  try {
    return ContentFile.openRegular(path, name);
  } catch (e) {
    if (e instanceof NotRegularFile) throw new TarLayerError(name, path, `${e.kind} is not a layer file: only a regular file has a size to bound its reads (give a stream to read anything else)`);
    throw e;
  }
}

/**
 * The digest just taken is of the file the layer holds, as its fstat was before the first
 * read: every byte read after this is checked against that fstat, and a change of it verified
 * again against this digest (content-file.ts). A file changed while it was being read is
 * refused here.
 */
function unchangedSinceOpen(file: ContentFile, name: string, raw: FileDigest): void {
  if (raw.bytes !== file.size) throw new TarLayerError(name, 'the whole file', `changed while it was read (${file.size} bytes at open, ${raw.bytes} hashed)`);
  try {
    file.check();
  } catch (e) {
    throw changedWhileOpening(name, e);
  }
  file.verified(raw.digest);
}

/**
 * The layer file's digest, from the hashing worker if one was started, else from `here`. Either
 * read the file to its end on its own: a file that grew or shrank since this pass read its
 * `bytesRead` bytes is refused.
 */
async function fileDigest(name: string, aside: ReturnType<typeof hashFileInWorker> | undefined, bytesRead: number, here: () => FileDigest): Promise<FileDigest> {
  const raw = aside ? await aside.digest.catch((e: unknown) => {
    throw new TarLayerError(name, 'the whole file', `could not be hashed: ${(e as Error).message}`);
  }) : here();
  if (raw.bytes !== bytesRead) throw new TarLayerError(name, 'the whole file', `changed while it was read (${bytesRead} bytes read, ${raw.bytes} hashed)`);
  return raw;
}

/** A layer's entries as a pass reads them, their number bounded by maxEntries. */
class EntryIndex {
  readonly builder: LayerBuilder;
  count = 0;

  constructor(private readonly name: string, private readonly maxEntries: number) {
    this.builder = new LayerBuilder(name, { ordered: true });
  }

  /** Counts the next entry, refusing one past maxEntries (before its content is read). */
  next(h: TarHeader): this {
    if (++this.count > this.maxEntries) throw new TarLayerError(this.name, displayName(h), `more than ${this.maxEntries} entries (maxEntries)`);
    return this;
  }

  add(h: TarHeader, data: Buffer | ContentRef): void {
    addEntry(this.builder, this.name, h, data);
  }

  /** An entry whose content stays in the uncompressed tar `file`: where it starts, and its size. */
  addOnDisk(h: TarHeader, file: ContentFile): void {
    // No content, no reference to it: a layer of many empty files keeps one shared buffer.
    this.add(h, h.type !== 'link' && (h.size ?? 0) > 0 ? { file, offset: h.byteOffset!, size: h.size! } : EMPTY);
  }
}

interface WalkContext {
  name: string;
  /** The tar, held open. */
  file: ContentFile;
  hashAside: ReturnType<typeof hashFileInWorker> | undefined;
}

interface IndexContext {
  name: string;
  maxEntries: number;
  limit: ByteLimit;
  input: Readable;
  /** The uncompressed tar on disk whose content stays there; undefined to read content into `store`. */
  file: ContentFile | undefined;
  /** Where content read from the stream goes (memory, then a spill file). */
  store: ContentStore | undefined;
  /** Settles when the pipeline has ended, with the error that stopped it, if any. */
  ended: Promise<unknown>;
}

/** Indexes every entry of the archive; a broken archive is a TarLayerError naming where. */
async function indexEntries(extract: AsyncIterable<unknown>, ctx: IndexContext): Promise<EntryIndex> {
  const { name, file } = ctx;
  const index = new EntryIndex(name, ctx.maxEntries);
  let lastHeader: TarHeader | undefined;
  const last = () => (lastHeader ? displayName(lastHeader) : '(start of archive)');
  let streamError: unknown;
  try {
    for await (const entry of extract as AsyncIterable<{ header: unknown; resume(): void }>) {
      const h = entry.header as TarHeader;
      lastHeader = h;
      index.next(h);
      if (file !== undefined) {
        // Content stays in the file: skip it (tar-stream checks it is all there).
        entry.resume();
        index.addOnDisk(h, file);
      } else if (isFileHeader(h)) {
        index.add(h, await ctx.store!.collect(entry as unknown as Readable, h.size ?? 0)); // a streamx Readable: the same events
      } else {
        // Only files keep content. tar-stream never ends the stream of a directory whose
        // header gives it a size (it reads no content for directories): waiting for it hung.
        entry.resume();
        index.add(h, EMPTY);
      }
    }
    streamError = await ctx.ended;
  } catch (e) {
    streamError = await ctx.ended;
    ctx.input.destroy();
    if (e instanceof LayerError) throw e;
    const cause = streamError ?? e;
    if (cause instanceof LayerError) throw cause;
    throw new TarLayerError(name, where(cause, `after ${last()} (byte ${ctx.limit.bytes} of the uncompressed tar)`), `corrupt or truncated archive: ${(cause as Error).message}`);
  }
  if (streamError) {
    ctx.input.destroy();
    if (streamError instanceof LayerError) throw streamError;
    throw new TarLayerError(name, where(streamError, `after ${last()}`), `corrupt or truncated archive: ${(streamError as Error).message}`);
  }
  return index;
}

/**
 * Where a pass failed: a zstd stream names its frame and compressed offset (its decoder runs
 * ahead of the tar parse by up to an output chunk, so "after" the last entry read says little).
 */
function where(cause: unknown, inTar: string): string {
  return cause instanceof ZstdStreamError ? `${cause.where}, ${inTar}` : inTar;
}

function addEntry(builder: LayerBuilder, layer: string, h: TarHeader, data: Buffer | ContentRef): void {
  const rawName = h.pax?.path ?? utf8Name(h.name);
  if (rawName === undefined || rawName.includes('\uFFFD')) throw new TarLayerError(layer, printable(h.name), 'name is not valid UTF-8');
  // GNU tar substitutes "." for an empty name, which would make the entry the root.
  if (rawName === '') throw new TarLayerError(layer, `(empty name, header at byte ${(h.byteOffset ?? 512) - 512})`, 'an entry must have a name');
  const where = layerPath(rawName);
  if ('refused' in where) throw new TarLayerError(layer, rawName, where.refused);
  const path = where.path;
  const sizeFault = headerOnlySizeFault(h.type, h.size, h.pax?.size);
  if (sizeFault !== undefined) throw new TarLayerError(layer, rawName, sizeFault);
  const linkTarget = h.type === 'link' || h.type === 'symlink' ? h.pax?.linkpath ?? utf8Name(h.linkname ?? '') : '';
  if (linkTarget === undefined) throw new TarLayerError(layer, rawName, `${h.type === 'link' ? 'hard link' : 'symlink'} target ${printable(h.linkname ?? '')} is not valid UTF-8`);
  // symlink(2) and link(2) take a target of at most PATH_MAX - 1 bytes (ENAMETOOLONG).
  if (linkTarget.length > PATH_MAX / 3 && Buffer.byteLength(linkTarget) >= PATH_MAX) throw new TarLayerError(layer, rawName, `${h.type === 'link' ? 'hard link' : 'symlink'} target of ${Buffer.byteLength(linkTarget)} bytes, longer than PATH_MAX - 1 (${PATH_MAX - 1}): no Linux file has it (ENAMETOOLONG)`);
  if (h.type === 'link') {
    // layerPath would read an empty target as the root.
    if (linkTarget === '') throw new TarLayerError(layer, rawName, 'hard link with an empty target');
    const target = layerPath(linkTarget);
    if ('refused' in target) throw new TarLayerError(layer, rawName, `hard link target: ${target.refused}`);
    builder.addHardLink(path, target.path);
    return;
  }
  const type = entryTypeOf(h.type);
  // tar-stream gives no type for typeflags it does not know: GNU's old sparse files ('S'),
  // volume labels ('V'), multi-volume continuations ('M'), vendor types.
  if (!type || type === 'hardlink') throw new TarLayerError(layer, rawName, h.type ? `unsupported entry type ${h.type}` : 'unsupported entry type (a typeflag tar-stream does not know: a GNU sparse file, volume label or multi-volume part, or a vendor type)');
  const spec: EntrySpec = { type, mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0 };
  // Most entries of most layers have no PAX records: nothing more to read then.
  if (h.pax) {
    if (Object.keys(h.pax).some((k) => k.startsWith('GNU.sparse.'))) throw sparseFile(layer, rawName, h.pax);
    const value = (key: 'uid' | 'gid' | 'mtime' | 'atime'): number | undefined => paxNumber(layer, rawName, h.pax!, key);
    const atime = value('atime');
    const mtime = value('mtime');
    spec.uid = value('uid') ?? spec.uid;
    spec.gid = value('gid') ?? spec.gid;
    if (mtime !== undefined) spec.mtimeMs = ext4TimeMs(mtime);
    if (atime !== undefined) spec.atimeMs = ext4TimeMs(atime);
    const xattrs = xattrsOf(layer, rawName, h.pax);
    if (xattrs) spec.xattrs = xattrs;
  }
  if (spec.mtimeMs === undefined) {
    let ustarMs = h.mtime?.getTime() ?? 0;
    // A negative ustar mtime can only be base-256 (two's complement; signs are refused,
    // header-fields.ts), and tar-stream's parse256 negates the one's complement: a second late.
    if (ustarMs < 0) ustarMs -= 1000;
    // A base-256 ustar mtime beyond a Date's range (year 275760) is NaN by now: its seconds are lost.
    if (!Number.isFinite(ustarMs)) throw new TarLayerError(layer, rawName, 'a base-256 mtime beyond what a Date holds (±8.64e12 s), which layerfs cannot read from a ustar field');
    spec.mtimeMs = ext4TimeMs(ustarMs / 1000);
  }
  if (type === 'file') spec.content = data;
  if (type === 'symlink') {
    // A PAX linkpath can carry a NUL; symlink(2) would end the target there.
    if (linkTarget.includes('\0')) throw new TarLayerError(layer, rawName, 'symlink target contains a NUL byte');
    spec.linkTarget = linkTarget;
  }
  if (type === 'char' || type === 'block') spec.rdev = makedev(h.devmajor ?? 0, h.devminor ?? 0);
  builder.add(path, spec);
}

/** PAX ids: decimal, 0..2^32-1 (GNU tar: "invalid uid=", "out of range 0..4294967295"). Times: decimal seconds with an optional fraction. */
const PAX_NUMBER = { uid: /^[0-9]{1,10}$/, gid: /^[0-9]{1,10}$/, mtime: /^-?[0-9]{1,20}(\.[0-9]{1,20})?$/, atime: /^-?[0-9]{1,20}(\.[0-9]{1,20})?$/ };

/**
 * A time as the rest of layerfs stores one (docs/semantics.md rule 19, file-times.ts): clamped
 * to what ext4 with 256-byte inodes holds, as GNU tar or umoci extracting the layer there would
 * leave it (mtime=10000000000000 reads as 2446-05-10T22:38:55Z). Milliseconds.
 */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A numeric PAX record's value, or undefined when the record is absent. One that is not a
 * number (`uid=abc`, an empty `gid=`, `mtime=12x`) or out of range was turned into NaN and
 * stored: refused instead, as GNU tar refuses ids ("Malformed extended header"). A time is
 * refused beyond what a 64-bit time_t holds (`mtime=99999999999999999999`), as GNU tar refuses
 * it ("out of range", exit status 2); within, it is stored clamped (ext4TimeMs).
 */
function paxNumber(layer: string, entry: string, pax: Readonly<Record<string, string>>, key: keyof typeof PAX_NUMBER): number | undefined {
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

/** xattrs from PAX records: `SCHILY.xattr.<name>` (GNU tar, Docker) and base64 `LIBARCHIVE.xattr.<name>` (its name %-encoded). */
function xattrsOf(layer: string, entry: string, pax: Record<string, string> | null | undefined): Record<string, Buffer> | undefined {
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

/** setxattr(2) limits (include/uapi/linux/limits.h): a name of at most 255 bytes, a value of at most 64 KiB. */
const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;

/**
 * A GNU sparse file in PAX form (GNU tar `--sparse-version` 0.0, 0.1 or 1.0; bsdtar writes
 * 1.0 by default for a file with holes). tar-stream reads none of them: a 1.0 file came out
 * as `GNUSparseFile.0/<name>` holding the sparse map and the data segments, not the file.
 * Refused, naming the file as the archive means it; extracted, or re-archived without `-S`,
 * such a layer reads (GNU tar, Go's archive/tar and so containerd expand it).
 */
function sparseFile(layer: string, entry: string, pax: Record<string, string>): TarLayerError {
  const version = pax['GNU.sparse.major'] !== undefined ? `${pax['GNU.sparse.major']}.${pax['GNU.sparse.minor'] ?? '?'}` : pax['GNU.sparse.map'] !== undefined ? '0.1' : '0.0';
  const name = pax['GNU.sparse.name'] ?? entry;
  return new TarLayerError(layer, name, `a GNU sparse file (PAX GNU.sparse.* records, format ${version}): sparse files are not supported; re-create the layer with the file stored whole (GNU tar without -S)`);
}

/** A header GNU tar and Go would not read alike (header-fields.ts): named by its ustar name and offset. */
function malformedHeader(layer: string, entry: string, at: number, fault: string): TarLayerError {
  return new TarLayerError(layer, `${printable(entry)} (header at byte ${at})`, `malformed tar header: ${fault}`);
}

/** A PAX header GNU tar would refuse: named by its own ustar name and offset (the entry it is for may be the name it fails to give). */
function malformedPax(layer: string, pax: PaxHeaderSeen, fault: string): TarLayerError {
  const which = pax.global ? `global PAX header at byte ${pax.byteOffset - 512}` : `PAX header at byte ${pax.byteOffset - 512}, for the entry after it`;
  return new TarLayerError(layer, `${printable(pax.name)} (${which})`, `malformed PAX extended header: ${fault}`);
}

const EMPTY = Buffer.alloc(0);

/** An entry's name for messages: the PAX path, or the header name shown byte-safe. */
function displayName(h: TarHeader): string {
  return h.pax?.path ?? printable(h.name);
}

/** A change of the layer file found while it was being opened: the whole file's. */
function changedWhileOpening(name: string, e: unknown): TarLayerError {
  return new TarLayerError(name, 'the whole file', e instanceof LayerError ? e.reason : (e as Error).message);
}

/**
 * A layer file's first bytes, enough for detectCompression. The file was opened before the
 * first wait of the open (extractChecksWork): a change since is the whole file's, as in
 * unchangedSinceOpen.
 */
function magicBytes(file: ContentFile, name: string): Buffer {
  const head = Buffer.alloc(Math.min(4, file.size));
  try {
    file.readAt(head, 0, head.length, 0);
  } catch (e) {
    throw changedWhileOpening(name, e);
  }
  return head;
}

/** Resolves once `stream` has closed (a destroyed ContentFile stream closes after its read in flight). */
function streamClosed(stream: Readable): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

/** Reads the first chunk (for the magic bytes) and gives back a stream of everything. */
async function peek(input: Readable): Promise<{ head: Buffer; rest: Readable }> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  const asBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array)); // no copy for Buffers
  const head: Buffer = first.done ? Buffer.alloc(0) : asBuffer(first.value);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield asBuffer(n.value);
    }
  }
  return { head, rest: Readable.from(all(), { objectMode: false }) };
}


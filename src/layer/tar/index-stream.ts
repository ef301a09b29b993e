import { tmpdir } from 'node:os';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import { ByteLimit, decompressor, HandOff, type Compression } from '../../tar/decompress.js';
import { checkExtract } from '../../tar/extract-checks.js';
import { HashingStream } from '../../tar/hashing-stream.js';
import { paxHeaderFault } from '../../tar/pax-records.js';
import { isFileHeader, type TarHeader } from '../../tar/tar-header.js';
import { ZstdStreamError, ZstdUnavailable } from '../../tar/zstd.js';
import type { ContentFile } from '../content-file.js';
import { LayerError } from '../layer-builder.js';
import { ContentStore } from './content-store.js';
import { displayName, EMPTY, EntryIndex } from './entry-index.js';
import { malformedHeader, malformedPax, TarLayerError } from './errors.js';
import { sizeOnly } from './index-only.js';
import type { HashAside } from './hash-file.js';
import type { KeptTarWriter } from './kept-tar.js';
import type { IndexedTar } from './layer-info.js';
import { fileDigest, unchangedSinceOpen } from './layer-file.js';
import type { TarLayerOptions } from './layer-options.js';

/** Content held in memory per layer before the rest spills (options.memoryBytes). */
const MEMORY_BYTES = 4 * 2 ** 20;

/** What the streaming pass reads, and how. */
export interface StreamPass {
  name: string;
  options: TarLayerOptions;
  maxBytes: number;
  maxEntries: number;
  compression: Compression;
  /** The layer file, when the layer is read from one (then read from it, to its size at open). */
  file: ContentFile | undefined;
  /** The layer file is an uncompressed tar whose content stays there: the pass reads headers, not content. */
  onDisk: boolean;
  /** A Buffer or stream given: the stream, and all its bytes again after the peek at its first chunk. */
  given: { stream: Readable; rest: Readable } | undefined;
  hashAside: HashAside | undefined;
  /** The files the layer will hold: a spill file made by the pass is added. */
  owned: ContentFile[];
  /** A compressed layer's inflated tar is written here, and its content read from it (kept-tar.ts), not held in memory or a spill file; the caller abandons it when the pass fails. */
  keep?: KeptTarWriter;
  /** Told every entry's header, in archive order (a saved index records them). */
  onHeader?: (h: TarHeader) => void;
}

/**
 * Indexes a layer in one streaming pass: decompressed (gzip, zstd) and parsed by tar-stream's
 * Extract with the header checks (extract-checks.ts), hashed on the way (digest and diff_id),
 * bounded by maxBytes and maxEntries, content kept in memory then a spill file (content-store.ts)
 * unless it stays in the layer file.
 */
export async function indexStream(p: StreamPass): Promise<IndexedTar> {
  const { name, file, compression, hashAside, maxBytes } = p;
  const fileSize = file?.size ?? 0;
  // A file is read to its size as fstat gave it, plus one byte: one that grows shows as a
  // mismatch with the digest's count, and reads stop there.
  const input = file ? file.stream(undefined, { upTo: fileSize + 1 }) : p.given!.rest;

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
    : [input, hashAside ? rawCount : rawHash, decoder, new HandOff(), limit, ...(p.keep ? [p.keep.stage()] : []), tarHash, extract];
  // Settles with the error that stopped the pipeline, if any (the extract is ended with it).
  const ended = pipeline(stages as unknown as [Readable, ...Transform[]]).then(() => undefined, (e: unknown) => {
    extract.destroy(e as Error);
    return e;
  });

  // Content the layer file cannot serve goes to memory, then to a spill file (none at all for
  // an index-only layer). Decompressor output belongs to this layer: files can stay views into it.
  const store = p.onDisk || p.keep || p.options.content === 'none' ? undefined : new ContentStore({
    name,
    memoryBytes: p.options.content === 'memory' ? Number.POSITIVE_INFINITY : p.options.memoryBytes ?? MEMORY_BYTES,
    spillDir: p.options.spillDir ?? tmpdir(),
    ownChunks: compression !== 'none',
    onSpillFile: (f) => p.owned.push(f),
  });
  // Whatever stops the pass stops the hashing worker too (it must not go on reading the file).
  try {
    const index = await indexEntries(extract, {
      name, maxEntries: p.maxEntries, limit, input: p.given?.stream ?? input,
      file: p.onDisk ? file : p.keep?.placeholder,
      store,
      ended,
      onHeader: p.onHeader,
    });
    // Build the index while the worker (if any) finishes hashing.
    const built = index.builder.build();
    await store?.finish(built.content);
    const raw = await fileDigest(name, hashAside, hashAside ? rawCount.bytes : rawHash.bytes, () => ({ digest: rawHash.digest(), bytes: rawHash.bytes }));
    if (file) unchangedSinceOpen(file, name, raw);
    // Named only once the blob is known to be the file hashed.
    if (p.keep) p.owned.push(await p.keep.finish(built.content, tarHash.digest(), tarHash.bytes));
    return {
      built,
      info: {
        compression,
        digest: raw.digest,
        diffId: compression === 'none' ? raw.digest : tarHash.digest(),
        compressedSize: raw.bytes,
        size: compression === 'none' ? raw.bytes : tarHash.bytes,
        entryCount: index.count,
        contentOnDisk: p.onDisk || p.keep !== undefined,
        spilledBytes: store?.spilledBytes ?? 0,
      },
    };
  } catch (e) {
    await hashAside?.stop();
    await store?.settled(); // TarLayer.from then closes the files
    await streamClosed(input); // no read of the file in flight either
    throw e;
  }
}

/** Resolves once `stream` has closed (a destroyed ContentFile stream closes after its read in flight). */
function streamClosed(stream: Readable): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

interface IndexContext {
  name: string;
  maxEntries: number;
  limit: ByteLimit;
  input: Readable;
  /** The uncompressed tar whose content stays there (the layer file, or the inflated tar being kept); undefined to read content into `store`. */
  file: ContentFile | undefined;
  /** Where content read from the stream goes (memory, then a spill file); undefined for an index-only layer. */
  store: ContentStore | undefined;
  /** Settles when the pipeline has ended, with the error that stopped it, if any. */
  ended: Promise<unknown>;
  onHeader: ((h: TarHeader) => void) | undefined;
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
      ctx.onHeader?.(h);
      if (file !== undefined) {
        // Content stays in the file: skip it (tar-stream checks it is all there).
        entry.resume();
        index.addOnDisk(h, file);
      } else if (isFileHeader(h)) {
        // A streamx Readable: the same events. Without a store (content: 'none') only the size is kept.
        if (ctx.store) index.add(h, await ctx.store.collect(entry as unknown as Readable, h.size ?? 0));
        else {
          entry.resume();
          index.add(h, sizeOnly(h.size ?? 0));
        }
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

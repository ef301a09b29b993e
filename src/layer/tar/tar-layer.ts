import { Readable } from 'node:stream';
import { detectCompression } from '../../tar/decompress.js';
import { extractChecksWork } from '../../tar/extract-checks.js';
import type { ContentFile } from '../content-file.js';
import { IndexedLayer } from '../indexed-layer.js';
import { TarLayerError } from './errors.js';
import { hashFileInWorker, type HashAside } from './hash-file.js';
import { indexOnDisk } from './index-on-disk.js';
import { indexOnly } from './index-only.js';
import { indexStream } from './index-stream.js';
import { KeptTarWriter, type KeepTar } from './kept-tar.js';
import type { TarHeader } from '../../tar/tar-header.js';
import type { IndexedTar, TarLayerInfo } from './layer-info.js';
import { openLayerFile } from './layer-file.js';
import { checkTarLayerOptions, type TarLayerOptions } from './layer-options.js';
import { magicBytes, peek } from './magic-bytes.js';

/** What a content store asks of an open besides the layer (keepingTar). */
interface Extra {
  keep?: KeepTar | undefined;
  onIndexed?: OnIndexed;
  /** The layer's bytes hashed by the caller as it hands them on (a store's ingest): not hashed again here. */
  hashed?: HashAside;
}

/**
 * The headers of a layer whose content is read from the tar file `tar`, its layer file
 * `source` (the same file for an uncompressed tar). A layer streamed (`indexingStream`) has
 * no layer file, and an uncompressed one streamed no tar file either: its content is the
 * blob's, by the headers' offsets, once that is stored.
 */
export type OnIndexed = (headers: TarHeader[], files: { source: ContentFile | undefined; tar: ContentFile | undefined }) => void;

/** Layer files (compressed or not) at least this large are hashed on a worker thread. */
const HASH_ASIDE_BYTES = 32 * 2 ** 20;

/**
 * A read-only layer read from an OCI/Docker layer tarball (plain, gzip or zstd, told apart by
 * magic bytes). An uncompressed tar file on disk is indexed by walking its headers and its
 * content stays there (read by position through the descriptor the layer holds, checked
 * unchanged on every read); anything else is indexed in one streaming pass, its content held
 * in memory up to `memoryBytes` and spilled to a private file beyond: docs/layers.md. With
 * `content: 'none'` the same passes run (every byte read and hashed) and no content is kept:
 * the index only (index-only.ts). A layer read from a file holds it open until `close()` (or
 * until the layer is collected).
 */
export class TarLayer extends IndexedLayer {
  private constructor(name: string, built: IndexedTar['built'], readonly info: TarLayerInfo, files: ContentFile[], private readonly source: ContentFile | undefined) {
    super(name, built, files);
  }

  static async from(source: string | Buffer | Readable, given: TarLayerOptions = {}): Promise<TarLayer> {
    return TarLayer.open(source, given, {});
  }

  /**
   * For a content store (store/layer-index.ts): opens the layer file `path` as `from` does,
   * and, when the content is read from a tar file (the layer file, or the inflated tar kept),
   * tells `onIndexed` every entry's header in archive order and that file; a compressed layer's inflated
   * tar is written to `keep` and its content read from there (kept-tar.ts), not from memory
   * or a spill file (memoryBytes and spillDir do not apply).
   */
  static async keepingTar(path: string, given: TarLayerOptions, keep: KeepTar | undefined, onIndexed: OnIndexed): Promise<TarLayer> {
    return TarLayer.open(path, given, { keep, onIndexed });
  }

  /**
   * For a content store's ingest (store/ingest-index.ts): the streaming pass over a layer's
   * bytes as they arrive, the same pass `from` runs over a stream, telling `onIndexed` every
   * header; a compressed layer's inflated tar is written to `keep` and its content read from
   * there, an uncompressed one's content is not kept (`content: 'none'`: the blob is its tar).
   * `hashed`: the digest of the bytes as the caller hashed them (its count must be the bytes
   * this pass read), so that the ingest's hash is the only one of the blob.
   */
  static async indexingStream(stream: Readable, given: TarLayerOptions, keep: KeepTar, onIndexed: OnIndexed, hashed?: HashAside): Promise<TarLayer> {
    return TarLayer.open(stream, given, { keep, onIndexed, ...(hashed ? { hashed } : {}) });
  }

  /**
   * A layer from an index saved by a content store, its entries replayed from the headers it
   * recorded: no byte of the layer is read. `files` are the files its content is read from
   * (verified by the caller), `source` the layer file as given.
   */
  static assemble(name: string, tar: IndexedTar, files: ContentFile[], source: ContentFile, content: TarLayerOptions['content']): TarLayer {
    const { built, info } = content === 'none' ? indexOnly(tar) : tar;
    return new TarLayer(name, built, info, files, source);
  }

  private static async open(source: string | Buffer | Readable, given: TarLayerOptions, extra: Extra): Promise<TarLayer> {
    const options = checkTarLayerOptions(given);
    const name = options.name ?? (typeof source === 'string' ? source : 'tar');
    // A path is opened once and held: the parse, the digest and every later read use the
    // same file, by position, even if the path is replaced meanwhile.
    const file = typeof source === 'string' ? openLayerFile(source, name) : undefined;
    const owned: ContentFile[] = file ? [file] : [];
    try {
      return await TarLayer.read(source, file, name, options, owned, extra);
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

  private static async read(source: string | Buffer | Readable, file: ContentFile | undefined, name: string, options: TarLayerOptions, owned: ContentFile[], extra: Extra): Promise<TarLayer> {
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
    const content = options.content ?? 'disk';
    // An index-only layer (content: 'none') of an uncompressed tar file is walked as one whose
    // content stays there; then the content is let go of (index-only.ts). (Streamed, it keeps
    // only sizes already: index-stream.ts has no store for it.)
    const onDisk = content !== 'memory' && file !== undefined && compression === 'none';
    const keep = extra.keep && compression !== 'none' ? KeptTarWriter.create(extra.keep, name) : undefined;
    // (So is one whose inflated tar is kept: its content is there.)
    const kept = content === 'none' && (onDisk || keep) ? indexOnly : (tar: IndexedTar) => tar;
    // A large layer file is hashed on another thread while this one decompresses and parses
    // it; a worker costs tens of milliseconds to start, more than hashing a small layer here.
    // Not an uncompressed tar whose content this pass copies out (content: 'memory'): the
    // bytes kept must be the bytes hashed, and a write through a shared mapping moves no
    // timestamp that could tell the two reads apart. (Inflated content is hashed here anyway:
    // the diff_id.)
    const copiesPlain = compression === 'none' && !onDisk;
    if (onDisk && fileSize <= maxBytes) {
      // Content stays on disk: one sequential read, header blocks decoded, every byte hashed.
      // An archive that is not plainly well formed is left to the streaming pass below, errors
      // and all.
      const headers: TarHeader[] = [];
      const walked = await indexOnDisk(file, name, maxEntries, fileSize >= HASH_ASIDE_BYTES, extra.onIndexed && ((h) => void headers.push(h)));
      if (walked) {
        extra.onIndexed?.(headers, { source: file, tar: file });
        const { built, info } = kept(walked);
        return new TarLayer(name, built, info, [file], file);
      }
    }
    const headers: TarHeader[] = [];
    const hashAside = extra.hashed ?? (file && fileSize >= HASH_ASIDE_BYTES && !copiesPlain ? hashFileInWorker(file.descriptor, fileSize + 1) : undefined);
    const { built, info } = kept(await indexStream({
      name, options, maxBytes, maxEntries, compression, file, onDisk, hashAside, owned,
      given: sourceStream && given ? { stream: sourceStream, rest: given.rest } : undefined,
      keep, onHeader: extra.onIndexed && ((h) => void headers.push(h)),
    }).catch(async (e: unknown) => {
      await keep?.abandon();
      throw e;
    }));
    const tar = onDisk ? file : keep?.kept;
    if (tar || (!file && compression === 'none')) extra.onIndexed?.(headers, { source: file, tar });
    return new TarLayer(name, built, info, owned, file);
  }
}

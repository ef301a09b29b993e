import { stat } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createReadStream, readSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { digestOf } from './digest.js';
import { ImageError } from './errors.js';
import { layerPath } from '../tar/entry-name.js';
import { isFileHeader } from '../tar/tar-header.js';
import { ContentFile, LayerContentError } from '../layer/content-file.js';
import { isContentStore } from '../store/saved-index-paths.js';
import { NotRegularFile } from '../layer/open-regular-file.js';
import { hashOpenFile, type FileDigest } from '../layer/tar/hash-file.js';

/** A file the image lists but does not hold: said in the user's terms, not as ENOENT. */
export const INCOMPLETE = 'missing: the image is incomplete';

/** Where an image's files live: a directory, or a tar archive of one (OCI archive, docker save). */
export interface FileSource {
  readonly label: string;
  has(path: string): Promise<boolean>;
  read(path: string): Promise<Buffer>;
  /** sha256 of the file and its size, without holding the whole of a file on disk in memory. */
  digest(path: string): Promise<FileDigest>;
}

export class DirectorySource implements FileSource {
  private store: boolean | undefined;

  constructor(readonly label: string) {}

  /** The directory is a content store (store/layer-index.ts opens its layers from saved indexes). */
  get fromStore(): boolean {
    return (this.store ??= isContentStore(this.label));
  }

  /** The file's path on disk (for readers that can seek, such as an uncompressed TarLayer). */
  at(path: string): string {
    const where = layerPath(path);
    if ('refused' in where) throw new ImageError(`${this.label}/${path}`, where.refused);
    return join(this.label, where.path);
  }

  async has(path: string): Promise<boolean> {
    return stat(this.at(path)).then((s) => s.isFile(), () => false);
  }

  /**
   * The whole file, read through one descriptor to the size its fstat gives, plus one byte to
   * see it grow, then checked unchanged. A path that is not a regular file (a link to
   * /dev/zero, a FIFO) is refused before it is even opened for reading (openRegularFile): it
   * has no size to bound the read.
   */
  async read(path: string): Promise<Buffer> {
    return this.readWhole(path, async (file, where) => {
      if (file.size > bufferConstants.MAX_LENGTH) throw new ImageError(where, `${file.size} bytes: too large to read into memory`);
      const chunks: Buffer[] = [];
      for await (const c of file.stream(undefined, { upTo: file.size + 1 })) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      return { result: data, bytes: data.length };
    });
  }

  /**
   * The file hashed by position through one descriptor, 1 MiB at a time (hashOpenFile), as
   * read() reads it: a layer of any size is hashed in constant memory, and one over Buffer's
   * limit is not refused.
   */
  async digest(path: string): Promise<FileDigest> {
    return this.readWhole(path, async (file, where) => {
      let hashed: FileDigest;
      try {
        hashed = hashOpenFile(file.descriptor, readSync, createHash, file.size + 1);
      } catch (e) {
        throw new ImageError(where, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
      }
      return { result: hashed, bytes: hashed.bytes };
    });
  }

  /**
   * Opens the file, lets `take` read it to the size its fstat gives plus one byte (to see it
   * grow), and checks that `take` read exactly that size and that the file is unchanged.
   */
  private async readWhole<T>(path: string, take: (file: ContentFile, where: string) => Promise<{ result: T; bytes: number }>): Promise<T> {
    const where = `${this.label}/${path}`;
    const file = this.open(path, where);
    try {
      const size = file.size;
      const { result, bytes } = await take(file, where);
      if (bytes !== size) throw new ImageError(where, `changed while it was read (${size} bytes by fstat, ${bytes > size ? 'more' : bytes} read)`);
      file.check();
      return result;
    } catch (e) {
      if (e instanceof LayerContentError) throw new ImageError(where, `cannot be read (${e.reason})`, { cause: e });
      throw e;
    } finally {
      file.close();
    }
  }

  /** Opens a regular file of the directory (openRegularFile), its failures ImageErrors naming it. */
  private open(path: string, where: string): ContentFile {
    try {
      return ContentFile.openRegular(this.at(path), where);
    } catch (e) {
      if (e instanceof NotRegularFile) throw new ImageError(where, `not a regular file (${e.kind}): a blob must be one, a device or FIFO has no size to bound the read`);
      const code = (e as NodeJS.ErrnoException).code;
      throw new ImageError(where, code === 'ENOENT' ? INCOMPLETE : `cannot be opened (${code ?? (e as Error).message})`);
    }
  }
}

/** A link stored in an archive: a symlink (target relative to its directory) or a hard link (to an archive path). */
interface ArchiveLink {
  kind: 'symlink' | 'hard link';
  target: string;
}

/**
 * The regular files of a tar archive, held in memory by name (docker save and OCI archives
 * are read whole; their layer blobs are then parsed from memory).
 *
 * `docker save` stores a layer that two images share once and the second copy as a symlink
 * (`<id>/layer.tar -> ../<other>/layer.tar`). A link is followed inside the archive only: its
 * target must be a regular file the archive itself stores. A link leaving the archive (an
 * absolute target, `..` above its top), a link to a link (a chain, and so every loop), a link
 * to nothing, and a path through a linked directory are ImageErrors naming the link; the host
 * filesystem is never looked at.
 */
export class ArchiveSource implements FileSource {
  private constructor(readonly label: string, private readonly files: Map<string, Buffer>, private readonly links: Map<string, ArchiveLink>) {}

  static async open(path: string): Promise<ArchiveSource> {
    const files = new Map<string, Buffer>();
    const links = new Map<string, ArchiveLink>();
    // Loaded here: reading an image from a directory (inspect of a layout) needs no tar parser.
    const { extract: tarExtract } = await import('tar-stream');
    const extract = tarExtract();
    const reading = (async () => {
      for await (const entry of extract) {
        const chunks: Buffer[] = [];
        for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
        const h = entry.header;
        const isFile = isFileHeader(h);
        if (!isFile && h.type !== 'symlink' && h.type !== 'link') continue;
        const where = layerPath(h.name);
        if ('refused' in where) throw new ImageError(`${path}: ${h.name}`, where.refused);
        const name = where.path.slice(1);
        // A later entry of the same name replaces an earlier one, as extracting the archive would.
        files.delete(name);
        links.delete(name);
        if (isFile) files.set(name, Buffer.concat(chunks));
        else links.set(name, { kind: h.type === 'symlink' ? 'symlink' : 'hard link', target: h.linkname ?? '' });
      }
    })();
    const input = createReadStream(path);
    const feeding = pipeline(input, extract);
    try {
      await Promise.all([feeding, reading.catch((e: unknown) => {
        input.destroy();
        extract.destroy();
        throw e;
      })]);
    } catch (e) {
      await feeding.catch(() => {});
      if (e instanceof ImageError) throw e;
      throw new ImageError(path, `not a readable tar archive: ${(e as Error).message}`);
    }
    return new ArchiveSource(path, files, links);
  }

  async has(path: string): Promise<boolean> {
    const name = normal(path);
    return this.files.has(name) || this.links.has(name);
  }

  async read(path: string): Promise<Buffer> {
    const name = normal(path);
    const data = this.files.get(name) ?? this.files.get(this.followLink(name));
    if (!data) throw new ImageError(`${this.label}: ${path}`, `${INCOMPLETE} (not in the archive)`);
    return data;
  }

  /** The archive is held in memory already: its bytes hashed. */
  async digest(path: string): Promise<FileDigest> {
    const data = await this.read(path);
    return { digest: digestOf(data), bytes: data.length };
  }

  /** The stored file a link names (one hop), or `name` itself when it is no link. */
  private followLink(name: string): string {
    const where = `${this.label}: ${name}`;
    for (let d = name.lastIndexOf('/'); d > 0; d = name.lastIndexOf('/', d - 1)) {
      if (this.links.has(name.slice(0, d))) throw new ImageError(where, `the path goes through ${name.slice(0, d)}, a link: only a file's own name may be a link in an archive`);
    }
    const link = this.links.get(name);
    if (!link) return name;
    const { kind, target } = link;
    if (target.startsWith('/')) throw new ImageError(where, `a ${kind} to ${target}, outside the archive`);
    const parts = kind === 'symlink' ? name.split('/').slice(0, -1) : [];
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part !== '..') parts.push(part);
      else if (parts.pop() === undefined) throw new ImageError(where, `a ${kind} to ${target}, outside the archive`);
    }
    const resolved = parts.join('/');
    if (this.links.has(resolved)) throw new ImageError(where, `a ${kind} to ${target}, which is a link itself: chains (and loops) are not followed`);
    if (!this.files.has(resolved)) throw new ImageError(where, `a ${kind} to ${target}, which the archive does not hold as a file`);
    return resolved;
  }
}

function normal(path: string): string {
  const where = layerPath(path);
  return 'refused' in where ? '\0refused' : where.path.slice(1);
}

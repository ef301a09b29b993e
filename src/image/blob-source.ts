import { readFile, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import { ImageError } from './errors.js';
import { layerPath } from '../layer/tar/entry-name.js';

/** Where an image's files live: a directory, or a tar archive of one (OCI archive, docker save). */
export interface FileSource {
  readonly label: string;
  has(path: string): Promise<boolean>;
  read(path: string): Promise<Buffer>;
  stream(path: string): Promise<Readable>;
}

export class DirectorySource implements FileSource {
  constructor(readonly label: string) {}

  /** The file's path on disk (for readers that can seek, such as an uncompressed TarLayer). */
  at(path: string): string {
    const where = layerPath(path);
    if ('refused' in where) throw new ImageError(`${this.label}/${path}`, where.refused);
    return join(this.label, where.path);
  }

  async has(path: string): Promise<boolean> {
    return stat(this.at(path)).then((s) => s.isFile(), () => false);
  }

  async read(path: string): Promise<Buffer> {
    return readFile(this.at(path)).catch(() => {
      throw new ImageError(`${this.label}/${path}`, 'missing');
    });
  }

  async stream(path: string): Promise<Readable> {
    if (!(await this.has(path))) throw new ImageError(`${this.label}/${path}`, 'missing');
    return createReadStream(this.at(path));
  }
}

/**
 * The regular files of a tar archive, held in memory by name (docker save and OCI archives
 * are read whole; their layer blobs are then parsed from memory).
 */
export class ArchiveSource implements FileSource {
  private constructor(readonly label: string, private readonly files: Map<string, Buffer>) {}

  static async open(path: string): Promise<ArchiveSource> {
    const files = new Map<string, Buffer>();
    const extract = tarExtract();
    const reading = (async () => {
      for await (const entry of extract) {
        const chunks: Buffer[] = [];
        for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
        const h = entry.header;
        if (h.type !== 'file' && h.type !== 'contiguous-file') continue;
        const where = layerPath(h.name);
        if ('refused' in where) throw new ImageError(`${path}: ${h.name}`, where.refused);
        files.set(where.path.slice(1), Buffer.concat(chunks));
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
    return new ArchiveSource(path, files);
  }

  async has(path: string): Promise<boolean> {
    return this.files.has(normal(path));
  }

  async read(path: string): Promise<Buffer> {
    const data = this.files.get(normal(path));
    if (!data) throw new ImageError(`${this.label}: ${path}`, 'missing from the archive');
    return data;
  }

  async stream(path: string): Promise<Readable> {
    return Readable.from([await this.read(path)]);
  }
}

function normal(path: string): string {
  const where = layerPath(path);
  return 'refused' in where ? '\0refused' : where.path.slice(1);
}

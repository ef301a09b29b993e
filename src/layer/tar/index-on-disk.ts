import { walkHeaders } from '../../tar/header-walk.js';
import type { TarHeader } from '../../tar/tar-header.js';
import type { ContentFile } from '../content-file.js';
import { EntryIndex } from './entry-index.js';
import { hashChunksHere, hashFileInWorker } from './hash-file.js';
import type { IndexedTar } from './layer-info.js';
import { fileDigest, unchangedSinceOpen } from './layer-file.js';

/**
 * Indexes an uncompressed tar whose content stays on disk by decoding its header blocks only
 * (header-walk.ts), and takes the file's digest: when `hashAside` (a large file), on a worker
 * thread reading the file itself while this one reads the headers by position (the hash, the
 * slowest part, then overlaps the walk); else here, from the chunks of the walk's own
 * sequential read of the file (read once, not once for the walk and again for the hash).
 * Undefined for an archive that is not plainly well formed: the streaming pass
 * (index-stream.ts) then reads it, errors and all.
 */
export async function indexOnDisk(file: ContentFile, name: string, maxEntries: number, hashAside: boolean, onHeader?: (h: TarHeader) => void): Promise<IndexedTar | undefined> {
  const walk = new EntryIndex(name, maxEntries);
  const aside = hashAside ? hashFileInWorker(file.descriptor, file.size + 1) : undefined;
  const here = aside ? undefined : hashChunksHere();
  const complete = await walkHeaders(file.descriptor, file.size, (h) => {
    walk.next(h).addOnDisk(h, file);
    onHeader?.(h);
  }, here).catch(async (e: unknown) => {
    await aside?.stop();
    throw e;
  });
  if (!complete) {
    await aside?.stop();
    return undefined;
  }
  try {
    // Build the index while the worker (if any) finishes hashing.
    const built = walk.builder.build();
    const raw = await fileDigest(name, aside, file.size, () => here!.end());
    unchangedSinceOpen(file, name, raw);
    return {
      built,
      info: { compression: 'none', digest: raw.digest, diffId: raw.digest, compressedSize: raw.bytes, size: raw.bytes, entryCount: walk.count, contentOnDisk: true, spilledBytes: 0 },
    };
  } catch (e) {
    await aside?.stop();
    throw e;
  }
}

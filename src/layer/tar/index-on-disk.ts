import { walkHeaders } from '../../tar/header-walk.js';
import type { ContentFile } from '../content-file.js';
import { EntryIndex } from './entry-index.js';
import { hashChunksHere, hashChunksInWorker } from './hash-file.js';
import type { IndexedTar } from './layer-info.js';
import { fileDigest, unchangedSinceOpen } from './layer-file.js';

/**
 * Indexes an uncompressed tar whose content stays on disk in one sequential read of the file
 * (header-walk.ts): its header blocks decoded, and every chunk read handed on to be hashed for
 * the file's digest, on a worker thread when `hashAside` (a large file: the hash, the slowest
 * part, then overlaps the walk), else here. Undefined for an archive that is not plainly well
 * formed: the streaming pass (index-stream.ts) then reads it, errors and all.
 */
export async function indexOnDisk(file: ContentFile, name: string, maxEntries: number, hashAside: boolean): Promise<IndexedTar | undefined> {
  const walk = new EntryIndex(name, maxEntries);
  const hash = hashAside ? hashChunksInWorker() : hashChunksHere();
  let complete: boolean;
  try {
    complete = await walkHeaders(file.descriptor, file.size, (h) => walk.next(h).addOnDisk(h, file), hash);
  } catch (e) {
    await hash.stop();
    throw e;
  }
  if (!complete) {
    await hash.stop();
    return undefined;
  }
  try {
    const digest = hash.end();
    // Build the index while the worker (if any) hashes the last chunks.
    const built = walk.builder.build();
    const raw = await fileDigest(name, { digest, stop: () => hash.stop() }, file.size);
    unchangedSinceOpen(file, name, raw);
    return {
      built,
      info: { compression: 'none', digest: raw.digest, diffId: raw.digest, compressedSize: raw.bytes, size: raw.bytes, entryCount: walk.count, contentOnDisk: true, spilledBytes: 0 },
    };
  } catch (e) {
    await hash.stop();
    throw e;
  }
}

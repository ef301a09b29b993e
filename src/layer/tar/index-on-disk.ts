import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { walkHeaders } from '../../tar/header-walk.js';
import type { ContentFile } from '../content-file.js';
import { EntryIndex } from './entry-index.js';
import { hashOpenFile, type HashAside } from './hash-file.js';
import type { IndexedTar } from './layer-info.js';
import { fileDigest, unchangedSinceOpen } from './layer-file.js';

/**
 * Indexes an uncompressed tar whose content stays on disk by reading its header blocks only
 * (header-walk.ts), then takes the file's digest (from `hashAside` when a worker hashes it).
 * Undefined for an archive that is not plainly well formed: the streaming pass
 * (index-stream.ts) then reads it, errors and all.
 */
export async function indexOnDisk(file: ContentFile, name: string, maxEntries: number, hashAside: HashAside | undefined): Promise<IndexedTar | undefined> {
  const walk = new EntryIndex(name, maxEntries);
  const complete = await walkHeaders(file.descriptor, file.size, (h) => walk.next(h).addOnDisk(h, file)).catch(async (e: unknown) => {
    await hashAside?.stop();
    throw e;
  });
  if (!complete) return undefined;
  try {
    // Build the index while the worker (if any) finishes hashing.
    const built = walk.builder.build();
    const raw = await fileDigest(name, hashAside, file.size, () => hashOpenFile(file.descriptor, readSync, createHash, file.size + 1));
    unchangedSinceOpen(file, name, raw);
    return {
      built,
      info: { compression: 'none', digest: raw.digest, diffId: raw.digest, compressedSize: raw.bytes, size: raw.bytes, entryCount: walk.count, contentOnDisk: true, spilledBytes: 0 },
    };
  } catch (e) {
    await hashAside?.stop();
    throw e;
  }
}

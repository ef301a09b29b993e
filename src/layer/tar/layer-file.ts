import { ContentFile } from '../content-file.js';
import { NotRegularFile } from '../open-regular-file.js';
import { changedWhileOpening, TarLayerError } from './errors.js';
import type { FileDigest, HashAside } from './hash-file.js';

// The layer file a TarLayer holds: opened once, and its digest taken of the very bytes its
// fstat described when it was opened.

/** Opens the layer file `path` to hold; anything but a regular file is refused at once. */
export function openLayerFile(path: string, name: string): ContentFile {
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
export function unchangedSinceOpen(file: ContentFile, name: string, raw: FileDigest): void {
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
export async function fileDigest(name: string, aside: HashAside | undefined, bytesRead: number, here: () => FileDigest): Promise<FileDigest> {
  const raw = aside ? await aside.digest.catch((e: unknown) => {
    throw new TarLayerError(name, 'the whole file', `could not be hashed: ${(e as Error).message}`);
  }) : here();
  if (raw.bytes !== bytesRead) throw new TarLayerError(name, 'the whole file', `changed while it was read (${bytesRead} bytes read, ${raw.bytes} hashed)`);
  return raw;
}

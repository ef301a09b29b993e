import { pack as tarPack } from 'tar-stream';
import type { Layer } from '../../src/index.js';
import { collectStream } from '../../src/index.js';
import { layerEntries } from '../../src/layer/layer-entries.js';
import { writeTar } from '../../src/export/tar-writer.js';

/**
 * Writes a layer as an uncompressed OCI layer tarball (markers first, then entries parents
 * first, hard links as typeflag 1), for tests that hold the tar path to the same oracle as
 * memory layers.
 */
export async function layerToTar(layer: Layer): Promise<Buffer> {
  return collectStream(writeTar(layerEntries(layer), { compression: 'none' }).stream);
}

/** One entry for `packTar`: a tar-stream header, and the body of a file. */
export interface PackEntry {
  header: Parameters<ReturnType<typeof tarPack>['entry']>[0];
  body?: Buffer | string;
}

/**
 * A tar exactly as tar-stream's pack writes `entries`, in order, nothing normalised: for tests
 * that need headers layerfs itself would never write (hostile names, odd PAX records).
 */
export async function packTar(entries: Iterable<PackEntry>): Promise<Buffer> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const { header, body } of entries) {
    if (body === undefined) p.entry(header);
    else p.entry(header, body);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A copy of `archive` with the 512-byte header at `at` edited by `edit`, its checksum made right. */
export function patchHeader(archive: Buffer, at: number, edit: (block: Buffer) => void): Buffer {
  const out = Buffer.from(archive);
  const block = out.subarray(at, at + 512);
  edit(block);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i]!;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return out;
}

/**
 * The 512-byte header of a regular file `name` of `size` bytes (tar-stream's own, with the
 * ustar size field patched: up to 8 GiB - 1), for a tar whose content the caller writes or
 * streams itself (a sparse tar, a bomb).
 */
export async function fileHeader(name: string, size: number): Promise<Buffer> {
  const empty = await packTar([{ header: { name }, body: '' }]);
  return patchHeader(empty.subarray(0, 512), 0, (block) => void block.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1'));
}

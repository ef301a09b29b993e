import { bytes, table } from '../io.js';
import { STORE_FLAG, openExistingStore, storeDir } from '../store-dir.js';
import { emitJson, out, short, type Invocation, type Verb } from '../verb.js';

export const imagesVerb: Verb = {
  takes: 'positionals',
  usage: 'images [--store DIR]',
  summary: "the content store's images: each ref, its manifest digest, the bytes it reaches, the bytes it shares with other refs, and the store's total",
  options: { ...STORE_FLAG },
  maxPositionals: 0,
  notes: [
    'SIZE is every stored blob the image reaches (manifest, config, layers), each counted once; SHARED is the part of it another ref reaches too. The total line: logical (the SIZEs added up) against on disk (every blob once, and the blobs no image reaches, which prune removes); "saved by sharing" is the difference sharing makes.',
    '--json: {store, images: [{ref, digest, mediaType, size (the manifest\'s), bytes, uniqueBytes, sharedBytes, missing (digests it names that the store lacks)}], totalBytes (what the images reach, each blob once), sharedBytes (saved by sharing), logicalBytes, diskBytes, unreachableBytes} (docs/cli.md).',
  ],
  run: listImages,
};

async function listImages({ io, json, flags }: Invocation): Promise<void> {
  const dir = storeDir(flags);
  const store = await openExistingStore(dir);
  const { images, totalBytes } = store ? await store.images() : { images: [], totalBytes: 0 };
  // What prune would remove (a dry run: nothing is): blobs on disk that no ref reaches.
  const unreachableBytes = store ? (await store.gc({ dryRun: true })).bytes : 0;
  const rows = images.map((i) => ({
    ref: i.ref,
    digest: i.manifest.digest,
    mediaType: i.manifest.mediaType,
    size: i.manifest.size,
    bytes: i.bytes,
    uniqueBytes: i.uniqueBytes,
    sharedBytes: i.bytes - i.uniqueBytes,
    missing: i.missing,
  }));
  const logicalBytes = rows.reduce((n, r) => n + r.bytes, 0);
  const saved = logicalBytes - totalBytes;
  const where = store?.dir ?? dir;
  if (json) return emitJson({ io }, { store: where, images: rows, totalBytes, sharedBytes: saved, logicalBytes, diskBytes: totalBytes + unreachableBytes, unreachableBytes });
  if (rows.length === 0 && unreachableBytes === 0) return out({ io }, `no images in ${where}`);
  const unreached = unreachableBytes > 0 ? `; ${bytes(unreachableBytes)} no image reaches (layerfs prune removes it)` : '';
  out({ io }, [
    ...(rows.length > 0 ? [table([['REF', 'DIGEST', 'SIZE', 'SHARED'], ...rows.map((r) => [r.ref, short(r.digest), bytes(r.bytes), bytes(r.sharedBytes)])]), ''] : []),
    `${rows.length} image${rows.length === 1 ? '' : 's'}: ${bytes(logicalBytes)} logical, ${bytes(totalBytes + unreachableBytes)} on disk in ${where} (${bytes(saved)} saved by sharing${unreached})`,
  ].join('\n'));
}

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
    'SIZE is every stored blob the image reaches (manifest, config, layers), each counted once; SHARED is the part of it another ref reaches too. The total counts a shared blob once; "saved by sharing" is what counting it per image would add.',
    '--json: {store, images: [{ref, digest, mediaType, size (the manifest\'s), bytes, uniqueBytes, sharedBytes, missing (digests it names that the store lacks)}], totalBytes, sharedBytes (saved by sharing)} (docs/cli.md).',
  ],
  run: listImages,
};

async function listImages({ io, json, flags }: Invocation): Promise<void> {
  const dir = storeDir(flags);
  const store = await openExistingStore(dir);
  const { images, totalBytes } = store ? await store.images() : { images: [], totalBytes: 0 };
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
  const saved = rows.reduce((n, r) => n + r.bytes, 0) - totalBytes;
  const where = store?.dir ?? dir;
  if (json) return emitJson({ io }, { store: where, images: rows, totalBytes, sharedBytes: saved });
  if (rows.length === 0) return out({ io }, `no images in ${where}`);
  out({ io }, [
    table([['REF', 'DIGEST', 'SIZE', 'SHARED'], ...rows.map((r) => [r.ref, short(r.digest), bytes(r.bytes), bytes(r.sharedBytes)])]),
    '',
    `${rows.length} images, ${bytes(totalBytes)} in ${where} (${bytes(saved)} saved by sharing)`,
  ].join('\n'));
}

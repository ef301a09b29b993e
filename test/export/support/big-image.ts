import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { pack as tarPack } from 'tar-stream';

/** The shape of a generated image: per layer, `bigFiles` files of `bigFileBytes` and `smallFiles` small ones. */
export interface BigImageShape {
  layers: number;
  bigFiles: number;
  bigFileBytes: number;
  smallFiles: number;
}

type Pack = ReturnType<typeof tarPack>;
const MTIME = new Date(1_700_000_000_000);

/** Adds one entry and waits until tar-stream has taken it; a body is written in 1 MiB pieces, as the pack drains. */
async function add(p: Pack, header: Parameters<Pack['entry']>[0], body?: { bytes: number; fill: string }): Promise<void> {
  if (!body) return new Promise((resolve, reject) => void p.entry({ mtime: MTIME, uid: 0, gid: 0, ...header }, (e) => (e ? reject(e) : resolve())));
  const piece = Buffer.alloc(Math.min(body.bytes, 1 << 20), body.fill);
  await new Promise<void>((resolve, reject) => {
    const sink = p.entry({ mtime: MTIME, uid: 0, gid: 0, ...header, size: body.bytes }, (e) => (e ? reject(e) : resolve()));
    let left = body.bytes;
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, piece.length);
        left -= n;
        if (!sink.write(n === piece.length ? piece : piece.subarray(0, n))) return void sink.once('drain', more);
      }
      sink.end(null);
    };
    more();
  });
}

/** Layer `l` of the image, entry by entry: directories, files, symlinks, a hard link, a fifo, and over layer 0 whiteouts, an opaque directory and replaced files. */
async function fillLayer(p: Pack, l: number, shape: BigImageShape): Promise<void> {
  await add(p, { name: 'data/', type: 'directory', mode: 0o755 });
  await add(p, { name: `data/l${l}/`, type: 'directory', mode: 0o755 });
  for (let i = 0; i < shape.bigFiles; i++) await add(p, { name: `data/l${l}/big${i}`, mode: 0o644 }, { bytes: shape.bigFileBytes, fill: `layer ${l} big file ${i}\n` });
  for (let d = 0; d < 10; d++) await add(p, { name: `data/l${l}/d${d}/`, type: 'directory', mode: 0o750, uid: 1000, gid: 1000 });
  for (let i = 0; i < shape.smallFiles; i++) {
    await add(p, { name: `data/l${l}/d${i % 10}/f${i}`, mode: i % 7 === 0 ? 0o4755 : 0o644, uid: i % 3, gid: i % 5 }, { bytes: 100 + ((i * 37) % 4000), fill: `l${l} f${i} ` });
  }
  await add(p, { name: `data/l${l}/link`, type: 'symlink', linkname: `d0/f0`, mode: 0o777 });
  await add(p, { name: `data/l${l}/hard`, type: 'link', linkname: `data/l${l}/d0/f0`, mode: 0o644 });
  await add(p, { name: `data/l${l}/fifo`, type: 'fifo', mode: 0o600 });
  if (l === 0) return;
  // Over the layer below: a file and a directory removed, a directory made opaque, a big file replaced.
  await add(p, { name: `data/l${l - 1}/d1/.wh.f1`, mode: 0o644 }, { bytes: 0, fill: ' ' });
  await add(p, { name: `data/l${l - 1}/d2/.wh..wh..opq`, mode: 0o644 }, { bytes: 0, fill: ' ' });
  await add(p, { name: `data/l${l - 1}/d2/new`, mode: 0o600 }, { bytes: 1234, fill: `new in ${l}` });
  await add(p, { name: `data/l${l - 1}/.wh.d3`, mode: 0o644 }, { bytes: 0, fill: ' ' });
  await add(p, { name: `data/l${l - 1}/big0`, mode: 0o640 }, { bytes: shape.bigFileBytes, fill: `replaced in layer ${l}\n` });
}

/**
 * Writes a generated multi-layer OCI image layout of plain tar layers into `dir` (made), each
 * layer streamed to its blob as it is packed, so that the generator never holds a layer in
 * memory. Returns the layers' total uncompressed size.
 */
export async function writeBigImage(dir: string, shape: BigImageShape): Promise<number> {
  const blobs = join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => {
    const hex = createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const layers: Array<{ mediaType: string; digest: string; size: number }> = [];
  for (let l = 0; l < shape.layers; l++) {
    const p = tarPack();
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({ transform: (c: Buffer, _e, cb) => (hash.update(c), (size += c.length), cb(null, c)) });
    const tmp = join(blobs, `tmp${l}`);
    const written = pipeline(p, count, fs.createWriteStream(tmp));
    await fillLayer(p, l, shape);
    p.finalize();
    await written;
    const hex = hash.digest('hex');
    fs.renameSync(tmp, join(blobs, hex));
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}`, size });
  }
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((x) => x.digest) } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers })));
  fs.writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));
  return layers.reduce((s, x) => s + x.size, 0);
}

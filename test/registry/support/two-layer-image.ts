import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface TwoLayerImage {
  layout: string;
  manifest: string;
  /** config, then the two layers, as the manifest lists them. */
  blobs: Array<{ digest: string; size: number; mediaType: string; data: Buffer }>;
  manifestBytes: Buffer;
}

/**
 * An OCI layout (tag `two`) of two layers made by GNU tar: a plain tar of /data/a (`size`
 * bytes of random data, so its layer is that large) and a gzip tar of /etc/two. For the
 * chunked-upload tests a layer larger than a chunk; the config and manifest written here.
 */
export function writeTwoLayerImage(dir: string, size = 300_000): TwoLayerImage {
  const root1 = join(dir, 'root1');
  const root2 = join(dir, 'root2');
  fs.mkdirSync(join(root1, 'data'), { recursive: true });
  fs.mkdirSync(join(root2, 'etc'), { recursive: true });
  fs.writeFileSync(join(root1, 'data', 'a'), randomish(size));
  fs.writeFileSync(join(root2, 'etc', 'two'), 'the second layer\n');
  const tar = (root: string) => execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', '-', '-C', root, '.'], { maxBuffer: 1 << 30 });
  const plain = tar(root1);
  const inner = tar(root2);
  const gz = execFileSync('gzip', ['-n', '-c'], { input: inner });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha(plain), sha(inner)] }, history: [{ created_by: 'layer 1' }, { created_by: 'layer 2' }] }));
  const blobs = [
    { mediaType: 'application/vnd.oci.image.config.v1+json', data: config },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', data: plain },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', data: gz },
  ].map((b) => ({ ...b, digest: sha(b.data), size: b.data.length }));
  const d = ({ mediaType, digest, size }: { mediaType: string; digest: string; size: number }) => ({ mediaType, digest, size });
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: d(blobs[0]!), layers: blobs.slice(1).map(d) }));
  const layout = join(dir, 'layout');
  fs.mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  for (const b of [...blobs.map((x) => x.data), manifestBytes]) fs.writeFileSync(join(layout, 'blobs', 'sha256', sha(b).slice(7)), b);
  fs.writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifest = sha(manifestBytes);
  fs.writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest, size: manifestBytes.length, annotations: { 'org.opencontainers.image.ref.name': 'two' } }] }));
  return { layout, manifest, blobs, manifestBytes };
}

/** Bytes that do not compress (so a registry or proxy counting them sees the real size). */
function randomish(size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update('layerfs two-layer image').digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

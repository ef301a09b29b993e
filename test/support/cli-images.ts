import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Writes `data` as a blob of the layout at `dir`; returns its descriptor. */
function blob(dir: string, mediaType: string, data: string): { mediaType: string; digest: string; size: number } {
  const hex = sha(data);
  fs.writeFileSync(join(dir, 'blobs/sha256', hex), data);
  return { mediaType, digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
}

/**
 * A copy of the demo layout whose index.json holds two images: `demo` (the demo's manifest)
 * and `multi`, an image index with one manifest per platform, each with its own config (the
 * demo's, its architecture and variant changed), so which one was picked shows in the config.
 * Returns the manifest digest of each platform.
 */
export function multiPlatformLayout(demo: string, target: string, platforms: string[]): Record<string, string> {
  fs.cpSync(demo, target, { recursive: true });
  const index = JSON.parse(fs.readFileSync(join(target, 'index.json'), 'utf8'));
  const demoDesc = index.manifests[0];
  const manifest = JSON.parse(fs.readFileSync(join(target, 'blobs/sha256', demoDesc.digest.slice(7)), 'utf8'));
  const config = JSON.parse(fs.readFileSync(join(target, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'));
  const digests: Record<string, string> = {};
  const entries = platforms.map((p) => {
    const [os, architecture, variant] = p.split('/') as [string, string, string?];
    const cfg = blob(target, 'application/vnd.oci.image.config.v1+json', JSON.stringify({ ...config, os, architecture, ...(variant ? { variant } : {}) }));
    const m = blob(target, 'application/vnd.oci.image.manifest.v1+json', JSON.stringify({ ...manifest, config: cfg }));
    digests[p] = m.digest;
    return { ...m, platform: { os, architecture, ...(variant ? { variant } : {}) } };
  });
  const list = blob(target, 'application/vnd.oci.image.index.v1+json', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
  const top = {
    schemaVersion: 2,
    manifests: [
      { ...demoDesc, annotations: { 'org.opencontainers.image.ref.name': 'demo' } },
      { ...list, annotations: { 'org.opencontainers.image.ref.name': 'multi' } },
    ],
  };
  fs.writeFileSync(join(target, 'index.json'), JSON.stringify(top));
  return digests;
}

/**
 * An OCI layout of uncompressed layer tars, bottom first (a tar's digest is then its diff_id):
 * for images a tool would not make, such as a layer with no headers for its parent directories.
 */
export function layoutFromTars(target: string, tars: Buffer[]): void {
  fs.mkdirSync(join(target, 'blobs/sha256'), { recursive: true });
  fs.writeFileSync(join(target, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const layers = tars.map((t) => {
    const hex = sha(t);
    fs.writeFileSync(join(target, 'blobs/sha256', hex), t);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}`, size: t.length };
  });
  const config = blob(target, 'application/vnd.oci.image.config.v1+json', JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const manifest = blob(target, 'application/vnd.oci.image.manifest.v1+json', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }));
  fs.writeFileSync(join(target, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifest] }));
}

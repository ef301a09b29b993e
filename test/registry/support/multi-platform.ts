import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The demo layout with a second tag `multi`: an OCI index of two manifests, the demo's for
 * linux/amd64 and, for linux/arm64, the same manifest with an annotation (so another digest
 * over the same blobs). Returns both manifests' digests.
 */
export function writeMultiPlatform(demo: string, dir: string): { amd64: string; arm64: string; index: string } {
  fs.cpSync(demo, dir, { recursive: true });
  const put = (data: Buffer) => {
    fs.writeFileSync(join(dir, 'blobs', 'sha256', sha(data)), data);
    return { digest: `sha256:${sha(data)}`, size: data.length };
  };
  const top = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
  const amd64 = top.manifests[0];
  const manifest = JSON.parse(fs.readFileSync(join(dir, 'blobs', 'sha256', amd64.digest.slice(7)), 'utf8'));
  const arm64 = put(Buffer.from(JSON.stringify({ ...manifest, annotations: { 'test.platform': 'arm64' } })));
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const index = put(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType, digest: amd64.digest, size: amd64.size, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType, ...arm64, platform: { os: 'linux', architecture: 'arm64' } },
    ],
  })));
  top.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', ...index, annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
  fs.writeFileSync(join(dir, 'index.json'), JSON.stringify(top));
  return { amd64: amd64.digest, arm64: arm64.digest, index: index.digest };
}

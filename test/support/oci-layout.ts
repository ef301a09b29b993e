import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Writes layer tars (uncompressed, or gzip with that media type) as a minimal OCI image layout (image-layout.md): blobs,
 * config with diff_ids, manifest, index tagged `latest`. A test fixture writer; saving images
 * is the library's job in issue 5.
 */
export function writeOciLayout(dir: string, layerTars: Buffer[], mediaType = 'application/vnd.oci.image.layer.v1.tar'): void {
  fs.mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (data: Buffer) => {
    fs.writeFileSync(join(dir, 'blobs', 'sha256', sha(data)), data);
    return { digest: `sha256:${sha(data)}`, size: data.length };
  };
  const layers = layerTars.map((t) => ({ mediaType, ...put(t) }));
  const diffIds = layerTars.map((t) => `sha256:${sha(mediaType.endsWith('+gzip') ? gunzipSync(t) : t)}`);
  const config = put(Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: {},
    rootfs: { type: 'layers', diff_ids: diffIds },
  })));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers,
  })));
  fs.writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  }));
}

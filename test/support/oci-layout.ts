import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What a test may set differently from what the layers hold (to make a layout that must be refused). */
export interface LayoutOverrides {
  /** The config's rootfs.diff_ids, instead of each layer's. */
  diffIds?: string[];
}

/**
 * Writes layer tars (uncompressed, or gzip with that media type; one type for all, or one per
 * layer) as a minimal OCI image layout (image-layout.md): blobs, config with diff_ids,
 * manifest, index tagged `latest`. A test fixture writer; saving images is the library's job
 * in issue 5. Returns the layers' blob paths.
 */
export function writeOciLayout(dir: string, layerTars: Buffer[], mediaType: string | readonly string[] = 'application/vnd.oci.image.layer.v1.tar', overrides: LayoutOverrides = {}): string[] {
  fs.mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (data: Buffer) => {
    fs.writeFileSync(join(dir, 'blobs', 'sha256', sha(data)), data);
    return { digest: `sha256:${sha(data)}`, size: data.length };
  };
  const typeOf = (i: number) => (typeof mediaType === 'string' ? mediaType : mediaType[i]!);
  const layers = layerTars.map((t, i) => ({ mediaType: typeOf(i), ...put(t) }));
  const diffIds = overrides.diffIds ?? layerTars.map((t, i) => `sha256:${sha(typeOf(i).endsWith('+gzip') ? gunzipSync(t) : t)}`);
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
  return layers.map((l) => join(dir, 'blobs', 'sha256', l.digest.slice('sha256:'.length)));
}

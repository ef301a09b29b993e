import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Overlay } from '../fs/overlay.js';
import type { Image, ImageConfig } from '../image/image.js';
import { OCI_MANIFEST } from '../image/media-types.js';
import { digestOf } from '../image/digest.js';
import { layerEntries } from './layer-entries.js';
import { checkSaveImageArgs } from './options.js';
import { collectStream, writeTar, type TarWriteOptions } from './tar-writer.js';

export interface SaveImageOptions extends TarWriteOptions {
  /** The image the overlay's lower layers came from: its blobs and config are reused. */
  base?: Image;
  /** The tag written in index.json (`org.opencontainers.image.ref.name`); `latest` by default. */
  ref?: string;
  /** The history entry's `created_by`. */
  createdBy?: string;
  /** Config fields to set (Env, Cmd, Entrypoint, WorkingDir, User, Labels). */
  config?: NonNullable<ImageConfig['config']>;
}

export interface SavedImage {
  manifest: { digest: string; size: number };
  config: { digest: string; size: number };
  /** Per layer; `lossyXattrs` (for layers written here) lists xattr values tar-stream could not write exactly. */
  layers: Array<{ digest: string; diffId: string; size: number; mediaType: string; lossyXattrs?: Array<{ path: string; name: string }> }>;
}


/**
 * `docker commit` for files: the overlay's upper layer committed and appended to its lower
 * layers, written as an OCI image layout (image-layout.md) with a config whose diff_ids and
 * history gain one entry, a manifest, and an index naming it by `ref`. With `base`, the base
 * image's blobs are copied as they are; without it, each lower layer is written as a layer.
 */
export async function saveImage(ov: Overlay, target: string, options: SaveImageOptions = {}): Promise<SavedImage> {
  options = checkSaveImageArgs(ov, target, options);
  const existing = await readdir(target).catch(() => undefined);
  if (existing && existing.length > 0) throw new Error(`${target}: not empty; saveImage writes a new image layout`);
  await mkdir(join(target, 'blobs', 'sha256'), { recursive: true });
  const put = async (data: Buffer) => {
    const digest = digestOf(data);
    await writeFile(join(target, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: data.length };
  };

  const lower = ov.engine.lower.layers;
  const base = options.base;
  const layers: SavedImage['layers'] = [];
  for (const [i, layer] of lower.entries()) {
    if (base) {
      const l = base.layers[i]!;
      await put(await base.layerBlob(i));
      layers.push({ digest: l.digest, diffId: l.diffId, size: l.size, mediaType: l.mediaType || 'application/vnd.oci.image.layer.v1.tar' });
    } else {
      const w = writeTar(layerEntries(layer), options);
      const stored = await put(await collectStream(w.stream));
      const info = await w.info;
      layers.push({ ...stored, diffId: info.diffId, mediaType: info.mediaType, lossyXattrs: info.lossyXattrs });
    }
  }
  const commit = ov.commit(options);
  const stored = await put(await collectStream(commit.stream));
  const info = await commit.info;
  layers.push({ ...stored, diffId: info.diffId, mediaType: info.mediaType, lossyXattrs: info.lossyXattrs });

  const created = new Date(options.sourceDateEpoch !== undefined ? options.sourceDateEpoch * 1000 : Date.now()).toISOString();
  const baseConfig: ImageConfig = base?.config ?? { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: lower.map((l) => ({ created, created_by: `layerfs: layer ${l.name}` })) };
  const config = {
    ...baseConfig,
    created,
    config: { ...(baseConfig.config ?? {}), ...(options.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: [...(baseConfig.history ?? []), { created, created_by: options.createdBy ?? 'layerfs commit' }],
  };
  const configBlob = await put(Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBlob = await put(Buffer.from(JSON.stringify(manifest)));
  await writeFile(join(target, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(target, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: OCI_MANIFEST, ...manifestBlob, annotations: { 'org.opencontainers.image.ref.name': options.ref ?? 'latest' } }],
  }));
  return { manifest: manifestBlob, config: configBlob, layers };
}

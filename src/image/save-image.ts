import { join } from 'node:path';
import type { Overlay } from '../export/overlay.js';
import { engineOf } from '../fs/overlay-fs.js';
import type { Image } from './image.js';
import type { ImageConfig, ImageLayer } from './image-parts.js';
import { OCI_MANIFEST } from '../oci/media-types.js';
import { layerEntries } from '../layer/layer-entries.js';
import { LayoutWriter, type BlobRef } from './layout-writer.js';
import { checkSaveImageArgs } from './save-image-options.js';
import { SaveImageError } from './save-image-error.js';
import { writeTar, type TarWriteOptions, type TarWriteResult } from '../export/tar-writer.js';

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
 * image's blobs are copied as they are (streamed, and verified against their digests on the
 * way); without it, each lower layer is written as a layer.
 *
 * Every argument is checked before the first write (src/image/save-image-options.ts); the layout is
 * written by LayoutWriter, which never follows a link in it, names a blob only once it is
 * whole and verified, and writes index.json last (docs/export.md, "What a caller can rely on").
 */
export async function saveImage(ov: Overlay, target: string, options: SaveImageOptions = {}): Promise<SavedImage> {
  // Only the checked copy is used from here on (each option read once, src/image/save-image-options.ts).
  const opts = checkSaveImageArgs(ov, target, options);
  const lower = engineOf(ov).lower.layers;
  const base = opts.base;
  const tarOptions = { compression: opts.compression, sourceDateEpoch: opts.sourceDateEpoch };
  const created = new Date(opts.sourceDateEpoch !== undefined ? opts.sourceDateEpoch * 1000 : Date.now()).toISOString();

  const layout = await LayoutWriter.open(target);
  try {
    const layers: SavedImage['layers'] = [];
    for (const [i, layer] of lower.entries()) {
      if (base) {
        const l = base.layers[i]!;
        await layout.put(() => base.image.layerBlobStream(i), `layer ${i} of the base image (${l.digest})`, {
          expect: l, failCode: 'ERR_BASE_BLOB', sourceLabel: baseBlobLabel(base.image, l),
        });
        layers.push({ digest: l.digest, diffId: l.diffId, size: l.size, mediaType: l.mediaType || 'application/vnd.oci.image.layer.v1.tar' });
      } else {
        layers.push(await putLayer(layout, writeTar(layerEntries(layer), tarOptions), `layer ${i} (${layer.name})`));
      }
    }
    layers.push(await putLayer(layout, ov.commit(tarOptions), 'the committed upper layer'));

    const baseConfig: ImageConfig = base?.config ?? { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: lower.map((l) => ({ created, created_by: `layerfs: layer ${l.name}` })) };
    const config = {
      ...baseConfig,
      created,
      config: { ...(baseConfig.config ?? {}), ...(opts.config ?? {}) },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: [...(baseConfig.history ?? []), { created, created_by: opts.createdBy ?? 'layerfs commit' }],
    };
    const configBlob = await putJson(layout, config, 'the image config');
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const manifestBlob = await putJson(layout, manifest, 'the image manifest');
    await layout.finish({ mediaType: OCI_MANIFEST, ...manifestBlob }, opts.ref ?? 'latest');
    return { manifest: manifestBlob, config: configBlob, layers };
  } finally {
    layout.close();
  }
}

/** A layer written here, streamed to its blob; named by what was written, checked against what the writer measured. */
async function putLayer(layout: LayoutWriter, w: TarWriteResult, what: string): Promise<SavedImage['layers'][number]> {
  let info: Awaited<TarWriteResult['info']> | undefined;
  const stored = await layout.put(async () => w.stream, what, {
    verify: async (measured) => {
      info = await w.info;
      if (info.digest !== measured.digest || info.size !== measured.size) {
        throw new SaveImageError('ERR_BLOB_MISMATCH', layout.target, `${what}: ${measured.size} bytes hashing to ${measured.digest} were written, but the tar writer measured ${info.size} bytes, ${info.digest}`);
      }
    },
  });
  return { ...stored, diffId: info!.diffId, mediaType: info!.mediaType, lossyXattrs: info!.lossyXattrs };
}

function putJson(layout: LayoutWriter, value: unknown, what: string): Promise<BlobRef> {
  const data = Buffer.from(JSON.stringify(value));
  return layout.put(async () => [data], what);
}

/** Where a base blob lives, for messages: its file in a layout directory, or the archive. */
function baseBlobLabel(base: Image, l: ImageLayer): string {
  const [alg, hex] = l.digest.split(':') as [string, string];
  return base.format === 'oci-layout' ? join(base.source, 'blobs', alg, hex) : `${base.source} (${l.digest})`;
}

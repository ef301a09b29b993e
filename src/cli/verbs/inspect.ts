import type { Image } from '../../image/image.js';
import type { ImageManifest } from '../../image/image-manifest.js';
import { bytes, paint, table } from '../io.js';
import { emitJson, out, short, type ManifestContext, type Verb } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const inspectVerb: Verb = {
  takes: 'manifest',
  usage: 'inspect IMAGE',
  summary: 'the image digest, created date, platform, total size, config, and a table of layers (digest, size, created by); reads the manifest and config only',
  options: { ...REF_FLAGS, changes: { type: 'boolean', help: "each layer's entries and what it adds, changes and deletes (opens and indexes every layer, as diff does)" } },
  maxPositionals: 1,
  notes: ['--json: {source, format, digest, id, created, platform, size, manifest, config, layers}; each layer is {layer, digest, diffId, size, mediaType, entries, added, changed, deleted, createdBy}: entries, added, changed and deleted are null without --changes (docs/cli.md).'],
  content: 'none',
  run: inspect,
};

/** What a layer's entries count: known only once the layer is indexed (--changes). */
interface LayerCounts {
  entries: number;
  added: number;
  changed: number;
  deleted: number;
}

/** Each layer's counts, from the whole image: its index, and what it does to the layers below (layerChanges). */
async function layerCounts(image: Image): Promise<LayerCounts[]> {
  // Loaded here: without --changes, inspect loads no overlay code.
  const { layerChanges } = await import('../layer-changes.js');
  return layerChanges(image).map((changes, i) => ({
    entries: image.layers[i]!.layer.entries.size,
    added: changes.filter((c) => c.kind === 'added').length,
    changed: changes.filter((c) => c.kind === 'changed').length,
    deleted: changes.filter((c) => c.kind === 'deleted' || c.kind === 'opaque').length,
  }));
}

async function inspect(ctx: ManifestContext): Promise<void> {
  const { image } = ctx;
  let counts: LayerCounts[] | undefined;
  if (ctx.flags.changes === true) {
    const whole = await ctx.open();
    try {
      counts = await layerCounts(whole);
    } finally {
      whole.close();
    }
  }
  const layers = image.layers.map((l, i) => ({
    layer: i,
    digest: l.digest,
    diffId: l.diffId,
    size: l.size,
    mediaType: l.mediaType,
    entries: counts?.[i]!.entries ?? null,
    added: counts?.[i]!.added ?? null,
    changed: counts?.[i]!.changed ?? null,
    deleted: counts?.[i]!.deleted ?? null,
    createdBy: image.createdBy(i) ?? null,
  }));
  const summary = inspectSummary(image, layers);
  if (ctx.json) return emitJson(ctx, { ...summary, manifest: image.manifest, config: image.config, layers });
  const c = image.config.config ?? {};
  const head = ['LAYER', 'DIGEST', 'SIZE', ...(counts ? ['ENTRIES', 'ADDED', 'CHANGED', 'DELETED'] : []), 'CREATED BY'];
  const lines = [
    `${paint(ctx.io, 1, image.source)} (${image.format})`,
    `  Digest:   ${summary.digest ?? '- (a docker save archive has no manifest blob)'}`,
    `  ID:       ${summary.id}`,
    `  Created:  ${summary.created ?? '-'}`,
    `  Platform: ${summary.platform}`,
    `  Size:     ${bytes(summary.size)} in ${layers.length} layers (${summary.size} bytes)`,
    `  Cmd: ${JSON.stringify(c.Cmd ?? [])}  Entrypoint: ${JSON.stringify(c.Entrypoint ?? [])}  WorkingDir: ${c.WorkingDir ?? ''}  User: ${c.User ?? ''}`,
    `  Env: ${(c.Env ?? []).join(' ')}`,
    '',
    table([head, ...layers.map((l) => [`L${l.layer}`, short(l.digest), bytes(l.size), ...(counts ? [String(l.entries), String(l.added), String(l.changed), String(l.deleted)] : []), l.createdBy ?? ''])]),
  ];
  out(ctx, lines.join('\n'));
}

/** The image's summary fields, from its manifest and config alone. */
function inspectSummary(image: ImageManifest, layers: ReadonlyArray<{ size: number }>) {
  const cfg = image.config as typeof image.config & { created?: unknown; variant?: unknown };
  return {
    source: image.source,
    format: image.format,
    // The manifest's digest, what `skopeo inspect` calls Digest; a docker save archive has no manifest blob.
    digest: image.manifestDigest ?? null,
    // The config's digest: Docker's image ID.
    id: image.configDigest,
    created: typeof cfg.created === 'string' ? cfg.created : null,
    platform: [cfg.os ?? '?', cfg.architecture ?? '?', ...(typeof cfg.variant === 'string' ? [cfg.variant] : [])].join('/'),
    // The layers as stored (compressed), what a registry transfers.
    size: layers.reduce((n, l) => n + l.size, 0),
  };
}

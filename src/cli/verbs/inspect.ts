import { layerChanges } from '../layer-changes.js';
import { bytes, paint, table } from '../io.js';
import { emitJson, out, short, type Verb, type VerbContext } from '../verb.js';

export const inspectVerb: Verb = {
  takes: 'image',
  usage: 'inspect IMAGE',
  summary: 'the image digest, created date, platform, total size, config, and a table of layers (digest, size, entries, added/changed/deleted)',
  maxPositionals: 1,
  notes: ['--json: {source, format, digest, id, created, platform, size, manifest, config, layers}; each layer is {layer, digest, diffId, size, mediaType, entries, added, changed, deleted, createdBy} (docs/cli.md).'],
  run: inspect,
};

async function inspect(ctx: VerbContext): Promise<void> {
  const { image } = ctx;
  const changes = layerChanges(image);
  const layers = image.layers.map((l, i) => ({
    layer: i,
    digest: l.digest,
    diffId: l.diffId,
    size: l.size,
    mediaType: l.mediaType,
    entries: l.layer.entries.size,
    added: changes[i]!.filter((c) => c.kind === 'added').length,
    changed: changes[i]!.filter((c) => c.kind === 'changed').length,
    deleted: changes[i]!.filter((c) => c.kind === 'deleted' || c.kind === 'opaque').length,
    createdBy: image.createdBy(i) ?? null,
  }));
  const cfg = image.config as typeof image.config & { created?: unknown; variant?: unknown };
  const manifest = image.manifest as { config?: { digest?: string } } | null;
  const configDigest = image.format === 'docker-archive' ? dockerConfigDigest(image.manifest) : manifest?.config?.digest;
  const summary = {
    source: image.source,
    format: image.format,
    // The manifest's digest, what `skopeo inspect` calls Digest; a docker save archive has no manifest blob.
    digest: image.manifestDigest ?? null,
    // The config's digest: Docker's image ID.
    id: configDigest ?? null,
    created: typeof cfg.created === 'string' ? cfg.created : null,
    platform: [cfg.os ?? '?', cfg.architecture ?? '?', ...(typeof cfg.variant === 'string' ? [cfg.variant] : [])].join('/'),
    // The layers as stored (compressed), what a registry transfers.
    size: layers.reduce((n, l) => n + l.size, 0),
  };
  if (ctx.json) return emitJson(ctx, { ...summary, manifest: image.manifest, config: image.config, layers });
  const c = image.config.config ?? {};
  const lines = [
    `${paint(ctx.io, 1, image.source)} (${image.format})`,
    `  Digest:   ${summary.digest ?? '- (a docker save archive has no manifest blob)'}`,
    `  ID:       ${summary.id ?? '-'}`,
    `  Created:  ${summary.created ?? '-'}`,
    `  Platform: ${summary.platform}`,
    `  Size:     ${bytes(summary.size)} in ${layers.length} layers (${summary.size} bytes)`,
    `  Cmd: ${JSON.stringify(c.Cmd ?? [])}  Entrypoint: ${JSON.stringify(c.Entrypoint ?? [])}  WorkingDir: ${c.WorkingDir ?? ''}  User: ${c.User ?? ''}`,
    `  Env: ${(c.Env ?? []).join(' ')}`,
    '',
    table([['LAYER', 'DIGEST', 'SIZE', 'ENTRIES', 'ADDED', 'CHANGED', 'DELETED', 'CREATED BY'],
      ...layers.map((l) => [`L${l.layer}`, short(l.digest), bytes(l.size), String(l.entries), String(l.added), String(l.changed), String(l.deleted), l.createdBy ?? ''])]),
  ];
  out(ctx, lines.join('\n'));
}

/** docker save names the config file by its digest (`<hex>.json` or `blobs/sha256/<hex>`); openImage verified it. */
function dockerConfigDigest(entry: unknown): string | undefined {
  const config = (entry as { Config?: unknown } | null)?.Config;
  const hex = typeof config === 'string' ? /([a-f0-9]{64})(\.json)?$/.exec(config)?.[1] : undefined;
  return hex ? `sha256:${hex}` : undefined;
}

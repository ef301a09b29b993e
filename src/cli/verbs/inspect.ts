import { layerChanges } from '../layer-changes.js';
import { bytes, paint, table } from '../io.js';
import { emitJson, out, short, type Verb, type VerbContext } from '../verb.js';

export const inspectVerb: Verb = {
  takes: 'image',
  usage: 'inspect IMAGE',
  summary: 'manifest, config and a table of layers (digest, size, entries, added/changed/deleted)',
  run: inspect,
};

async function inspect(ctx: VerbContext): Promise<void> {
  const { image } = ctx;
  const changes = layerChanges(image);
  const layers = image.layers.map((l, i) => ({
    index: i,
    digest: l.digest,
    diffId: l.diffId,
    size: l.size,
    mediaType: l.mediaType,
    entries: l.layer.entries.size,
    added: changes[i]!.filter((c) => c.kind === 'added').length,
    changed: changes[i]!.filter((c) => c.kind === 'changed').length,
    deleted: changes[i]!.filter((c) => c.kind === 'deleted' || c.kind === 'opaque').length,
    createdBy: image.createdBy(i),
  }));
  if (ctx.json) return emitJson(ctx, { source: image.source, format: image.format, manifest: image.manifest, config: image.config, layers });
  const c = image.config.config ?? {};
  const lines = [
    `${paint(ctx.io, 1, image.source)} (${image.format}, ${image.config.os ?? '?'}/${image.config.architecture ?? '?'})`,
    `  Cmd: ${JSON.stringify(c.Cmd ?? [])}  Entrypoint: ${JSON.stringify(c.Entrypoint ?? [])}  WorkingDir: ${c.WorkingDir ?? ''}  User: ${c.User ?? ''}`,
    `  Env: ${(c.Env ?? []).join(' ')}`,
    '',
    table([['LAYER', 'DIGEST', 'SIZE', 'ENTRIES', 'ADDED', 'CHANGED', 'DELETED', 'CREATED BY'],
      ...layers.map((l) => [`L${l.index}`, short(l.digest), bytes(l.size), String(l.entries), String(l.added), String(l.changed), String(l.deleted), l.createdBy ?? ''])]),
  ];
  out(ctx, lines.join('\n'));
}

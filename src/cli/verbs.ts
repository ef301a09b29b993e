import { writeFileSync, readFileSync } from 'node:fs';
import type { Image } from '../image/image.js';
import { layerLabel, type LayerRef } from '../overlay/provenance.js';
import type { Overlay } from '../export/overlay.js';
import { collectStream } from '../export/tar-writer.js';
import { saveImage } from '../image/save-image.js';
import { ExportError, type ExportDirReport } from '../export/export-dir.js';
import { analyze } from './analyze.js';
import { layerChanges } from './layer-changes.js';
import { CliError, bytes, paint, table, type CliIO } from './io.js';

export interface VerbContext {
  io: CliIO;
  json: boolean;
  image: Image;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
}

const out = (ctx: VerbContext, text: string) => ctx.io.stdout(text.endsWith('\n') ? text : text + '\n');
const emitJson = (ctx: VerbContext, value: unknown) => out(ctx, JSON.stringify(value, null, 2));
const layerName = (l: LayerRef | undefined) => (l === undefined ? '-' : layerLabel(l));
const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

function pathArg(ctx: VerbContext, index = 0): string {
  const p = ctx.args[index];
  if (!p) throw new CliError('a PATH inside the image is needed', 2);
  return p.startsWith('/') ? p : `/${p}`;
}

export async function inspect(ctx: VerbContext): Promise<void> {
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

export async function tree(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const start = ctx.args[0] ? pathArg(ctx) : '/';
  const showLayers = ctx.flags.layers === true;
  type Node = { path: string; type: string; layer: string; shadowed: string[]; opaque: boolean; hiddenBelow: string[]; children?: Node[] };
  // Names lower layers hold in each directory that a whiteout hides, indexed once.
  const whiteoutsIn = new Map<string, Array<{ path: string; layer: number }>>();
  for (const [i, { layer }] of ctx.image.layers.entries()) {
    for (const wo of layer.whiteouts) {
      const dir = wo.slice(0, wo.lastIndexOf('/') || 1);
      let list = whiteoutsIn.get(dir);
      if (!list) whiteoutsIn.set(dir, (list = []));
      list.push({ path: wo, layer: i });
    }
  }
  const nodeOf = (p: string): Node => {
    const w = ov.whereIs(p);
    return { path: p, type: w.type ?? '?', layer: layerName(w.provider), shadowed: w.shadowed.map((s) => `L${s}`), opaque: w.hiddenBy.some((h) => h.kind === 'opaque'), hiddenBelow: [] };
  };
  // Breadth of the tree on a queue, not recursion: an image may nest deeper than the stack.
  const build = (start: string): Node => {
    const root = nodeOf(start);
    const queue = [root];
    while (queue.length > 0) {
      const node = queue.pop()!;
      const p = node.path;
      if (!ov.lstatSync(p).isDirectory()) continue;
      node.children = ov.readdirSync(p).map((n) => nodeOf(p === '/' ? `/${n}` : `${p}/${n}`));
      queue.push(...node.children);
      const visible = new Set(node.children.map((c) => c.path));
      node.hiddenBelow = (whiteoutsIn.get(p) ?? []).filter((w) => !visible.has(w.path)).map((w) => `${w.path} (whiteout in L${w.layer})`);
    }
    return root;
  };
  const root = build(start);
  if (ctx.json) return emitJson(ctx, root);
  const lines: string[] = [];
  const stack: Array<[Node, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [n, depth] = stack.pop()!;
    const name = depth === 0 ? n.path : n.path.slice(n.path.lastIndexOf('/') + 1);
    let line = '  '.repeat(depth) + (n.type === 'directory' ? paint(ctx.io, 34, name + '/') : name);
    if (showLayers) {
      line += paint(ctx.io, 2, `  [${n.layer}]`);
      if (n.shadowed.length) line += paint(ctx.io, 33, ` shadows ${n.shadowed.join(',')}`);
      if (n.opaque) line += paint(ctx.io, 35, ' opaque');
    }
    lines.push(line);
    if (showLayers) for (const h of n.hiddenBelow) lines.push('  '.repeat(depth + 1) + paint(ctx.io, 31, `- ${h.slice(h.lastIndexOf('/') + 1)}`));
    for (const c of [...(n.children ?? [])].reverse()) stack.push([c, depth + 1]);
  }
  out(ctx, lines.join('\n'));
}

export async function ls(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const dir = ctx.args[0] ? pathArg(ctx) : '/';
  const rows = ov.readdirSync(dir).map((name) => {
    const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = ov.lstatSync(p);
    const w = ov.whereIs(p);
    return { name, path: p, mode: (st.mode & 0o7777).toString(8), type: w.type, size: st.size, owner: `${st.uid}:${st.gid}`, layer: w.provider ?? null, shadowed: w.shadowed };
  });
  if (ctx.json) return emitJson(ctx, rows);
  out(ctx, table([['MODE', 'OWNER', 'SIZE', 'LAYER', 'NAME'], ...rows.map((r) => [r.mode, r.owner, String(r.size), layerName(r.layer ?? undefined) + (r.shadowed.length ? `>${r.shadowed.map((s) => `L${s}`).join(',')}` : ''), r.type === 'directory' ? `${r.name}/` : r.name])]));
}

export async function why(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const p = pathArg(ctx);
  const w = ov.whereIs(p);
  if (ctx.json) return emitJson(ctx, w);
  const lines = [`${w.path}: ${w.provider === undefined ? 'not visible' : `${w.type} from ${layerName(w.provider)}`}`];
  for (const v of w.versions) {
    const wins = v.kind === 'entry' && v.layer === w.provider;
    const merged = w.mergedFrom.includes(v.layer) && !wins;
    const what = v.kind === 'entry' ? `${v.type}` : v.kind === 'whiteout' ? 'whiteout (deletes the name below)' : 'opaque marker (hides the directory below)';
    const verdict = wins ? 'wins: the topmost version' : merged ? 'merged: its entries show through' : v.kind === 'entry' ? 'shadowed' : 'applies';
    lines.push(`  ${layerName(v.layer).padEnd(5)} ${what.padEnd(44)} ${wins ? paint(ctx.io, 32, verdict) : verdict}`);
  }
  out(ctx, lines.join('\n'));
}

export async function cat(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const data = ov.readFileSync(pathArg(ctx)) as Buffer;
  ctx.io.stdout(data); // the bytes as they are, not re-encoded
}

export async function stat(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const p = pathArg(ctx);
  const st = ov.lstatSync(p);
  const w = ov.whereIs(p);
  const v = { path: p, type: w.type, mode: st.mode.toString(8), uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, mtime: st.mtime.toISOString(), layer: w.provider ?? null, ...(st.isSymbolicLink() ? { target: ov.readlinkSync(p) } : {}) };
  if (ctx.json) return emitJson(ctx, v);
  out(ctx, Object.entries(v).map(([k, x]) => `${k.padEnd(6)} ${x}`).join('\n'));
}

export async function diff(ctx: VerbContext): Promise<void> {
  const changes = layerChanges(ctx.image);
  if (ctx.json) return emitJson(ctx, changes.map((c, i) => ({ layer: i, digest: ctx.image.layers[i]!.digest, changes: c })));
  const mark: Record<string, string> = { added: paint(ctx.io, 32, 'A'), changed: paint(ctx.io, 33, 'C'), deleted: paint(ctx.io, 31, 'D'), opaque: paint(ctx.io, 35, 'O') };
  const lines: string[] = [];
  changes.forEach((c, i) => {
    lines.push(`L${i} ${short(ctx.image.layers[i]!.digest)}  ${ctx.image.createdBy(i) ?? ''}`);
    for (const ch of c) lines.push(`  ${mark[ch.kind]} ${ch.path}${ch.type === 'directory' ? '/' : ''}${ch.size ? `  (${bytes(ch.size)})` : ''}`);
  });
  out(ctx, lines.join('\n'));
}

export async function analyzeVerb(ctx: VerbContext): Promise<void> {
  const a = analyze(ctx.image);
  const threshold = ctx.flags.threshold !== undefined ? Number(ctx.flags.threshold) : 0.9;
  if (!(threshold >= 0 && threshold <= 1)) throw new CliError('--threshold takes a number from 0 to 1', 2);
  if (ctx.json) emitJson(ctx, { ...a, threshold });
  else {
    out(ctx, [
      `efficiency ${(a.efficiency * 100).toFixed(2)}%  (${bytes(a.wastedBytes)} wasted of ${bytes(a.totalBytes)} in layers)`,
      '',
      a.wasted.length ? table([['WASTED', 'LAYER', 'WHY', 'PATH'], ...a.wasted.slice(0, 20).map((w) => [bytes(w.size), `L${w.layer}`, w.reason, w.path])]) : 'no wasted bytes',
      '',
      table([['SIZE', 'LAYER', 'LARGEST FILES'], ...a.largest.map((l) => [bytes(l.size), `L${l.layer}`, l.path])]),
    ].join('\n'));
  }
  if (ctx.flags.ci === true && a.efficiency < threshold) {
    throw new CliError(`efficiency ${a.efficiency} is below the threshold ${threshold}`);
  }
}

export async function exportVerb(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const overwrite = ctx.flags.overwrite === true;
  const allowNonEmpty = ctx.flags['allow-non-empty'] === true;
  if (typeof ctx.flags.tar === 'string') {
    if (overwrite || allowNonEmpty) throw new CliError('--overwrite and --allow-non-empty go with --dir, not --tar', 2);
    writeFileSync(ctx.flags.tar, await collectStream(ov.exportTar().stream));
    if (ctx.json) emitJson(ctx, { tar: ctx.flags.tar });
    return;
  }
  if (typeof ctx.flags.dir === 'string') {
    if (overwrite && allowNonEmpty) throw new CliError('--overwrite or --allow-non-empty, not both: --overwrite replaces what is there, --allow-non-empty refuses to', 2);
    let report: ExportDirReport;
    try {
      report = ov.exportDir(ctx.flags.dir, {
        overwrite,
        allowNonEmpty,
        onProgress: ctx.io.stderrIsTTY ? ({ entries, bytes: b }) => ctx.io.stderr(`\rexporting: ${entries} entries, ${bytes(b)}`) : undefined,
      });
    } catch (e) {
      throw exportDirError(e);
    }
    if (ctx.io.stderrIsTTY) ctx.io.stderr('\n');
    if (ctx.json) emitJson(ctx, report);
    else out(ctx, `${report.entries} entries, ${bytes(report.bytes)} written to ${ctx.flags.dir}${report.skipped.length ? `; ${report.skipped.length} skipped (--json lists them with the reason)` : ''}`);
    return;
  }
  throw new CliError('export needs --tar FILE or --dir DIR', 2);
}

/** exportDir's refusals that the user answers with a flag, told in the CLI's flags. */
function exportDirError(e: unknown): unknown {
  if (!(e instanceof ExportError)) return e;
  if (e.code === 'ERR_NOT_EMPTY') return new CliError(`${e.path}: the directory is not empty (--allow-non-empty writes beside what is there, --overwrite replaces it)`);
  if (e.code === 'EEXIST') return new CliError(`${e.path}: already there (--overwrite replaces it)`);
  return e;
}

type ScriptOp = [string, ...unknown[]];

/** Applies a JSON list of fs calls, e.g. [["writeFile", "/etc/motd", "hi"], ["unlink", "/tmp/x"]]. */
function applyScript(ov: Overlay, ops: ScriptOp[]): void {
  const calls: Record<string, (...a: never[]) => unknown> = {
    writeFile: ov.writeFileSync.bind(ov), appendFile: ov.appendFileSync.bind(ov), mkdir: ov.mkdirSync.bind(ov),
    rm: ov.rmSync.bind(ov), unlink: ov.unlinkSync.bind(ov), rmdir: ov.rmdirSync.bind(ov), rename: ov.renameSync.bind(ov),
    symlink: ov.symlinkSync.bind(ov), link: ov.linkSync.bind(ov), chmod: ov.chmodSync.bind(ov), chown: ov.chownSync.bind(ov),
  };
  for (const [i, op] of ops.entries()) {
    const fn = calls[op[0]];
    if (!fn) throw new CliError(`change ${i + 1}: unknown call ${JSON.stringify(op[0])} (known: ${Object.keys(calls).join(', ')})`);
    try {
      fn(...(op.slice(1) as never[]));
    } catch (e) {
      throw new CliError(`change ${i + 1} (${op[0]}): ${(e as Error).message}`);
    }
  }
}

export async function commitVerb(ctx: VerbContext): Promise<void> {
  const script = ctx.flags.changes;
  const target = ctx.flags.out;
  if (typeof script !== 'string' || typeof target !== 'string') throw new CliError('commit needs --changes FILE.json and --out DIR', 2);
  let ops: ScriptOp[];
  try {
    ops = JSON.parse(readFileSync(script, 'utf8'));
  } catch (e) {
    throw new CliError(`${script}: ${(e as Error).message}`);
  }
  if (!Array.isArray(ops)) throw new CliError(`${script}: expected a JSON list of calls`);
  const compression = ctx.flags.compression ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'zstd' && compression !== 'none') {
    throw new CliError(`--compression: expected gzip, zstd or none, not ${JSON.stringify(compression)}`, 2);
  }
  const ov = ctx.image.overlay();
  applyScript(ov, ops);
  const saved = await saveImage(ov, target, { base: ctx.image, compression, createdBy: `layerfs commit --changes ${script}` });
  if (ctx.json) return emitJson(ctx, saved);
  out(ctx, `${target}: ${saved.layers.length} layers; new layer ${short(saved.layers.at(-1)!.digest)} (${bytes(saved.layers.at(-1)!.size)}), manifest ${short(saved.manifest.digest)}`);
}

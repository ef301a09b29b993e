import { readFileSync } from 'node:fs';
import type { Overlay } from '../../export/overlay.js';
import { MAX_SOURCE_DATE_EPOCH } from '../../export/options.js';
import { saveImage } from '../../image/save-image.js';
import { CliError, bytes } from '../io.js';
import { emitJson, out, short, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const commitVerb: Verb = {
  takes: 'image',
  usage: 'commit IMAGE --changes FILE.json --out DIR [--compression gzip|zstd|none] [--source-date-epoch SECONDS]',
  summary: 'apply a JSON list of fs calls ([["writeFile","/etc/motd","hi"], ...]) and save the result as a new OCI image layout',
  options: {
    ...REF_FLAGS,
    changes: { type: 'string', value: 'FILE.json', help: "the calls, in order (writeFile, appendFile, mkdir, rm, unlink, rmdir, rename, symlink, link, chmod, chown), with the arguments of Node's fs" },
    out: { type: 'string', value: 'DIR', help: 'where the new OCI image layout is written' },
    compression: { type: 'string', value: 'ALG', help: 'of the new layer: gzip (default), zstd or none' },
    'source-date-epoch': { type: 'string', value: 'SECONDS', help: 'the time written in the new config and history, and the latest mtime in the new layer (default: $SOURCE_DATE_EPOCH)' },
  },
  maxPositionals: 1,
  notes: [
    'Reproducible output: with --source-date-epoch or SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/), the same image, the same changes file (at the same path: it is named in the history) and the same compression give the same digests on every run (for an epoch not later than the run: later mtimes are clamped to it, earlier ones kept); without it the current time goes into the config.',
    '--json: {manifest: {digest, size}, config: {digest, size}, layers: [{digest, diffId, size, mediaType}]}.',
  ],
  run: commitChanges,
};

type ScriptOp = [string, ...unknown[]];

/** Applies a JSON list of fs calls, e.g. [["writeFile", "/etc/motd", "hi"], ["unlink", "/tmp/x"]]. */
function applyScript(ov: Overlay, ops: ScriptOp[]): void {
  const calls: Record<string, (...a: never[]) => unknown> = {
    writeFile: ov.writeFileSync.bind(ov), appendFile: ov.appendFileSync.bind(ov), mkdir: ov.mkdirSync.bind(ov),
    rm: ov.rmSync.bind(ov), unlink: ov.unlinkSync.bind(ov), rmdir: ov.rmdirSync.bind(ov), rename: ov.renameSync.bind(ov),
    symlink: ov.symlinkSync.bind(ov), link: ov.linkSync.bind(ov), chmod: ov.chmodSync.bind(ov), chown: ov.chownSync.bind(ov),
  };
  for (const [i, op] of ops.entries()) {
    if (!Array.isArray(op) || typeof op[0] !== 'string') {
      throw new CliError(`change ${i + 1}: expected a list ["call", ...arguments], such as ["writeFile", "/etc/motd", "hi"], not ${JSON.stringify(op)}`);
    }
    const fn = Object.hasOwn(calls, op[0]) ? calls[op[0]] : undefined;
    if (!fn) throw new CliError(`change ${i + 1}: unknown call ${JSON.stringify(op[0])} (known: ${Object.keys(calls).join(', ')})`);
    try {
      fn(...(op.slice(1) as never[]));
    } catch (e) {
      throw new CliError(`change ${i + 1} (${op[0]}): ${(e as Error).message}`);
    }
  }
}

async function commitChanges(ctx: VerbContext): Promise<void> {
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
  const flag = ctx.flags['source-date-epoch'];
  // An empty variable is unset (the specification); an empty flag was typed, and is refused.
  if (flag === '') throw new CliError('--source-date-epoch: expected whole seconds since 1970 (such as 1700000000), not ""', 2);
  const sourceDateEpoch = epochOf(flag, '--source-date-epoch') ?? epochOf(process.env.SOURCE_DATE_EPOCH, 'SOURCE_DATE_EPOCH');
  const ov = ctx.image.overlay();
  applyScript(ov, ops);
  const saved = await saveImage(ov, target, { base: ctx.image, compression, createdBy: `layerfs commit --changes ${script}`, ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}) });
  if (ctx.json) return emitJson(ctx, saved);
  out(ctx, `${target}: ${saved.layers.length} layers; new layer ${short(saved.layers.at(-1)!.digest)} (${bytes(saved.layers.at(-1)!.size)}), manifest ${short(saved.manifest.digest)}`);
}

/**
 * A SOURCE_DATE_EPOCH value: decimal seconds since 1970 (the specification: "MUST be an
 * ASCII representation of an integer with no fractional component"); anything else is refused
 * rather than ignored. Empty is unset, as the specification's reference code treats it.
 */
function epochOf(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > MAX_SOURCE_DATE_EPOCH) throw new CliError(`${name}: expected whole seconds since 1970 (such as 1700000000), not ${JSON.stringify(value)}`, 2);
  return n;
}

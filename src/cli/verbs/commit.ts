import { readFileSync } from 'node:fs';
import type { Overlay } from '../../export/overlay.js';
import { saveImage } from '../../image/save-image.js';
import { CliError, bytes } from '../io.js';
import { emitJson, out, short, type Verb, type VerbContext } from '../verb.js';

export const commitVerb: Verb = {
  takes: 'image',
  usage: 'commit IMAGE --changes FILE.json --out DIR [--compression gzip|zstd|none]',
  summary: 'apply a JSON list of fs calls ([["writeFile","/etc/motd","hi"], ...]) and save the result as a new OCI image',
  options: { changes: { type: 'string' }, out: { type: 'string' }, compression: { type: 'string' } },
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
    const fn = calls[op[0]];
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
  const ov = ctx.image.overlay();
  applyScript(ov, ops);
  const saved = await saveImage(ov, target, { base: ctx.image, compression, createdBy: `layerfs commit --changes ${script}` });
  if (ctx.json) return emitJson(ctx, saved);
  out(ctx, `${target}: ${saved.layers.length} layers; new layer ${short(saved.layers.at(-1)!.digest)} (${bytes(saved.layers.at(-1)!.size)}), manifest ${short(saved.manifest.digest)}`);
}

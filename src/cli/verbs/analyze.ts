import { analyze } from '../analyze.js';
import { CliError, bytes, table } from '../io.js';
import { emitJson, out, type Verb, type VerbContext } from '../verb.js';

export const analyzeVerb: Verb = {
  takes: 'image',
  usage: 'analyze IMAGE [--ci] [--threshold 0.9]',
  summary: 'wasted bytes (files later layers overwrite or delete), efficiency, largest files; --ci exits 1 below the threshold',
  options: { ci: { type: 'boolean' }, threshold: { type: 'string' } },
  run: analyzeImage,
};

async function analyzeImage(ctx: VerbContext): Promise<void> {
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

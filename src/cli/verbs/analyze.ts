import { analyze, type Analysis } from '../analyze.js';
import { CliError, bytes, paint, table, type CliIO } from '../io.js';
import { emitJson, out, type Flags, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const analyzeVerb: Verb = {
  takes: 'image',
  usage: 'analyze IMAGE [--ci] [--lowest-efficiency F] [--highest-wasted-bytes N] [--highest-user-wasted-percent F]',
  summary: 'wasted bytes (files later layers overwrite or delete), efficiency, largest files; --ci checks the rules of dive --ci and exits 1 when one fails',
  options: {
    ...REF_FLAGS,
    ci: { type: 'boolean', help: 'check the rules, print PASS, FAIL or SKIP per rule and a Result line as dive --ci does; exit 1 when a rule fails' },
    'lowest-efficiency': { type: 'string', value: 'F', help: 'fail below this efficiency, 0 to 1 (default 0.9, as dive)' },
    threshold: { type: 'string', value: 'F', help: 'the same as --lowest-efficiency' },
    'highest-wasted-bytes': { type: 'string', value: 'N', help: 'fail above N wasted bytes (off unless given)' },
    'highest-user-wasted-percent': { type: 'string', value: 'F', help: 'fail when wasted bytes over the bytes of the layers above the base exceed F, 0 to 1 (off unless given; dive turns it on at 0.1)' },
  },
  maxPositionals: 1,
  notes: ['Efficiency is 1 - wasted / total file bytes of all layers. --json adds rules: [{rule, status, limit, message}] and result (PASS, FAIL, or null without --ci).'],
  content: 'none',
  run: analyzeImage,
};

interface RuleResult {
  rule: 'lowestEfficiency' | 'highestWastedBytes' | 'highestUserWastedPercent';
  status: 'PASS' | 'FAIL' | 'SKIP';
  limit: number | null;
  message: string | null;
}

/** A figure in a rule's message: four decimals, cut (not rounded) so that a failing value never reads as the limit. */
const figure = (x: number) => String(Math.floor(x * 1e4) / 1e4);

function fraction(flags: Flags, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !(n >= 0 && n <= 1)) throw new CliError(`analyze: --${name} takes a number from 0 to 1, not ${JSON.stringify(v)}`, 2);
  return n;
}

/** dive's three CI rules (runtime/ci/rules.go), their messages in dive's words. */
function rules(a: Analysis, flags: Flags): RuleResult[] {
  const lowest = fraction(flags, 'lowest-efficiency') ?? fraction(flags, 'threshold') ?? 0.9;
  const rawBytes = flags['highest-wasted-bytes'];
  const maxBytes = rawBytes === undefined ? undefined : Number(rawBytes);
  if (maxBytes !== undefined && !(typeof rawBytes === 'string' && /^\d+$/.test(rawBytes))) throw new CliError(`analyze: --highest-wasted-bytes takes a number of bytes, not ${JSON.stringify(rawBytes)}`, 2);
  const maxUser = fraction(flags, 'highest-user-wasted-percent');
  const skip = (rule: RuleResult['rule']): RuleResult => ({ rule, status: 'SKIP', limit: null, message: 'rule disabled' });
  return [
    a.efficiency < lowest
      ? { rule: 'lowestEfficiency', status: 'FAIL', limit: lowest, message: `image efficiency is too low (efficiency=${figure(a.efficiency)} < threshold=${lowest})` }
      : { rule: 'lowestEfficiency', status: 'PASS', limit: lowest, message: null },
    maxBytes === undefined ? skip('highestWastedBytes')
      : a.wastedBytes > maxBytes ? { rule: 'highestWastedBytes', status: 'FAIL', limit: maxBytes, message: `too many bytes wasted (wasted-bytes=${a.wastedBytes} > threshold=${maxBytes})` }
      : { rule: 'highestWastedBytes', status: 'PASS', limit: maxBytes, message: null },
    maxUser === undefined ? skip('highestUserWastedPercent')
      : a.userWastedPercent > maxUser ? { rule: 'highestUserWastedPercent', status: 'FAIL', limit: maxUser, message: `too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=${figure(a.userWastedPercent)} > threshold=${maxUser})` }
      : { rule: 'highestUserWastedPercent', status: 'PASS', limit: maxUser, message: null },
  ];
}

/** A percentage with two decimals, cut (99.996% is 99.99%, never 100.00% while bytes are wasted). */
const percent = (x: number) => `${(Math.floor(x * 1e4) / 100).toFixed(2)}%`;

async function analyzeImage(ctx: VerbContext): Promise<void> {
  const a = analyze(ctx.image);
  const checked = rules(a, ctx.flags);
  const ci = ctx.flags.ci === true;
  const failed = checked.filter((r) => r.status === 'FAIL');
  const result = ci ? (failed.length ? 'FAIL' : 'PASS') : null;
  if (ctx.json) emitJson(ctx, { ...a, rules: checked, result });
  else {
    out(ctx, [
      `efficiency ${percent(a.efficiency)}  (${bytes(a.wastedBytes)} wasted of ${bytes(a.totalBytes)} in layers; ${percent(a.userWastedPercent)} of the ${bytes(a.userBytes)} above the base)`,
      '',
      a.wasted.length ? table([['WASTED', 'LAYER', 'WHY', 'PATH'], ...a.wasted.slice(0, 20).map((w) => [bytes(w.size), `L${w.layer}`, w.reason, w.path])]) : 'no wasted bytes',
      '',
      table([['SIZE', 'LAYER', 'LARGEST FILES'], ...a.largest.map((l) => [bytes(l.size), `L${l.layer}`, l.path])]),
      ...(ci ? ['', ...ciReport(ctx.io, checked)] : []),
    ].join('\n'));
  }
  if (ci && failed.length) throw new CliError(`analyze: ${failed.length} CI rule${failed.length > 1 ? 's' : ''} failed (${failed.map((r) => r.rule).join(', ')})`);
}

/** dive --ci's results: one line per rule, then the tally. */
function ciReport(io: CliIO, results: RuleResult[]): string[] {
  const n = (s: RuleResult['status']) => results.filter((r) => r.status === s).length;
  const mark = { PASS: paint(io, 32, 'PASS'), FAIL: paint(io, 31, 'FAIL'), SKIP: 'SKIP' };
  return [
    ...results.map((r) => `  ${mark[r.status]}: ${r.rule}${r.message ? `: ${r.message}` : ''}`),
    `Result:${n('FAIL') ? 'FAIL' : 'PASS'} [Total:${results.length}] [Passed:${n('PASS')}] [Failed:${n('FAIL')}] [Warn:0] [Skipped:${n('SKIP')}]`,
  ];
}

import { paint } from '../io.js';
import { emitJson, layerName, out, pathArg, type Verb, type VerbContext } from '../verb.js';

export const whyVerb: Verb = {
  takes: 'image',
  usage: 'why IMAGE PATH',
  summary: "every layer's version of a path, top-down: which wins and why",
  run: why,
};

async function why(ctx: VerbContext): Promise<void> {
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

import type { Overlay } from '../../export/overlay.js';
import type { LayerRef, LayerVersion } from '../../overlay/provenance.js';
import { paint } from '../io.js';
import { emitJson, layerJson, layerName, out, pathArg, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const whyVerb: Verb = {
  takes: 'image',
  usage: 'why IMAGE PATH',
  summary: "every layer's version of a path, top-down: which wins, which merge, which are shadowed or hidden, and why",
  options: { ...REF_FLAGS },
  maxPositionals: 2,
  notes: ['--json: {path, type, layer, mergedFrom, shadowed, versions}; each version is {layer, kind (entry, whiteout, opaque), type, implicit, verdict, by, at}: verdict is wins, merged, implicit, shadowed, hidden-by-whiteout, hidden-by-opaque or hidden-by-file for an entry, deletes for a whiteout, hides for an opaque marker; by is the layer that shadows or hides it, at the path where it does (the path or a parent) (docs/cli.md).'],
  content: 'none',
  run: why,
};

type Verdict = 'wins' | 'merged' | 'implicit' | 'shadowed' | 'hidden-by-whiteout' | 'hidden-by-opaque' | 'hidden-by-file' | 'deletes' | 'hides';

/** Layers compared by height: the upper layer is above every lower one. */
const height = (l: LayerRef) => (l === 'upper' ? Infinity : l);

async function why(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const w = ov.whereIs(pathArg(ctx));
  const implicitIn = (l: LayerRef) => l !== 'upper' && ctx.image.layers[l]!.layer.entries.get(w.path)?.implicit === true;
  const versions = w.versions.map((v) => {
    let judged: Judged = judge(v, w.versions, w.provider, w.mergedFrom, implicitIn(v.layer));
    if (judged.verdict === 'shadowed' && w.provider === undefined) judged = hiddenAbove(ov, w.path, v.layer) ?? judged;
    const { verdict, by, at } = judged;
    return { layer: layerJson(v.layer), kind: v.kind, type: v.type ?? null, implicit: v.kind === 'entry' && implicitIn(v.layer), verdict, by: by === undefined ? null : layerJson(by), at: at ?? w.path };
  });
  if (ctx.json) return emitJson(ctx, { path: w.path, type: w.type ?? null, layer: layerJson(w.provider), mergedFrom: w.mergedFrom, shadowed: w.shadowed, versions });
  const lines = [`${w.path}: ${w.provider === undefined ? 'not visible' : `${w.type} from ${layerName(w.provider)}`}`];
  for (const v of versions) {
    const what = v.kind === 'entry' ? `${v.type}${v.implicit ? ' (implicit: no entry of its own)' : ''}` : v.kind === 'whiteout' ? 'whiteout' : 'opaque marker';
    const text = explain(v.verdict, v.by, v.at, w.path);
    lines.push(`  ${layerName(v.layer).padEnd(5)} ${what.padEnd(36)} ${v.verdict === 'wins' ? paint(ctx.io, 32, text) : text}`);
  }
  out(ctx, lines.join('\n'));
}

/**
 * One layer's version judged against the others (overlayfs.rst "whiteouts and opaque
 * directories", "Directories"): the provider wins; a directory whose entries show through
 * merges (an implicit one, only the parent of the layer's entries, is said to be so); a
 * version under a whiteout or opaque marker is hidden by it; any other is shadowed by the
 * provider.
 */
interface Judged {
  verdict: Verdict;
  by?: LayerRef;
  /** Where the marker or entry that decides is: the path itself, or a parent of it. */
  at?: string;
}

function judge(v: LayerVersion, all: LayerVersion[], provider: LayerRef | undefined, mergedFrom: LayerRef[], implicit: boolean): Judged {
  if (v.kind === 'whiteout') return { verdict: 'deletes' };
  if (v.kind === 'opaque') return { verdict: 'hides' };
  if (v.layer === provider) return { verdict: 'wins' };
  if (mergedFrom.includes(v.layer)) return { verdict: implicit ? 'implicit' : 'merged' };
  // The nearest whiteout or opaque marker above this version hides it, unless the provider is lower still.
  const hider = all.filter((h) => h.kind !== 'entry' && height(h.layer) > height(v.layer)).at(-1);
  if (hider && (provider === undefined || height(hider.layer) >= height(provider))) return { verdict: hider.kind === 'whiteout' ? 'hidden-by-whiteout' : 'hidden-by-opaque', by: hider.layer };
  return { verdict: 'shadowed', ...(provider !== undefined ? { by: provider } : {}) };
}

/**
 * A version of a path nothing shows, with no marker of its own above it: a parent is deleted by
 * a whiteout, made opaque, or replaced by a non-directory in a layer above (overlayfs.rst
 * "whiteouts and opaque directories"). The nearest such parent, or undefined.
 */
function hiddenAbove(ov: Overlay, path: string, layer: LayerRef): Judged | undefined {
  for (let p = path.slice(0, path.lastIndexOf('/')) || '/'; ; p = p.slice(0, p.lastIndexOf('/')) || '/') {
    const w = ov.whereIs(p);
    const marker = w.hiddenBy.filter((h) => height(h.layer) > height(layer)).at(-1);
    if (marker) return { verdict: marker.kind === 'whiteout' ? 'hidden-by-whiteout' : 'hidden-by-opaque', by: marker.layer, at: p };
    if (w.provider !== undefined && w.type !== 'directory' && height(w.provider) > height(layer)) return { verdict: 'hidden-by-file', by: w.provider, at: p };
    if (p === '/') return undefined;
  }
}

function explain(verdict: Verdict, by: LayerRef | null, at: string, path: string): string {
  const on = at === path ? '' : ` on ${at}`;
  switch (verdict) {
    case 'wins': return 'wins: the topmost version';
    case 'merged': return 'merged: its entries show through';
    case 'implicit': return 'implicit: its entries show through';
    case 'shadowed': return `shadowed by ${layerName(by)}`;
    case 'hidden-by-whiteout': return `hidden: deleted by the whiteout${on} in ${layerName(by)}`;
    case 'hidden-by-opaque': return `hidden by the opaque marker${on} in ${layerName(by)}`;
    case 'hidden-by-file': return `hidden: ${at} is not a directory in ${layerName(by)}`;
    case 'deletes': return 'deletes the name in the layers below';
    case 'hides': return "hides the directory's entries in the layers below";
  }
}

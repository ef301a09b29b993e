import { paint } from '../io.js';
import { emitJson, layerName, out, pathArg, type Verb, type VerbContext } from '../verb.js';

export const treeVerb: Verb = {
  takes: 'image',
  usage: 'tree IMAGE [PATH] [--layers]',
  summary: 'the merged tree; --layers marks the layer of each entry, shadowed versions, whiteouts and opaque dirs',
  options: { layers: { type: 'boolean' } },
  run: tree,
};

async function tree(ctx: VerbContext): Promise<void> {
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

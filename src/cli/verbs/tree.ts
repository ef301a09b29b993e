import { displayName, entryWithProvenance, type EntryJson } from '../entry-json.js';
import { paint } from '../io.js';
import { emitJson, layerName, lookingUp, out, pathArg, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const treeVerb: Verb = {
  takes: 'image',
  usage: 'tree IMAGE [PATH] [--layers]',
  summary: 'the merged tree from PATH (/ by default); --layers marks the layer of each entry, shadowed versions, whiteouts and opaque dirs',
  options: { ...REF_FLAGS, layers: { type: 'boolean', help: "each entry's layer [L2], the layers it shadows, opaque directories, and names whiteouts delete (- name)" } },
  maxPositionals: 2,
  notes: ['--json: the root entry, each directory with children; every node has the fields of ls --json plus opaque (boolean) and hiddenBelow (a list of {path, layer}: names a whiteout in that layer deletes).'],
  content: 'none',
  run: tree,
};

type Node = EntryJson & { opaque: boolean; hiddenBelow: Array<{ path: string; layer: number }>; children?: Node[] };

async function tree(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const start = ctx.args[0] ? pathArg(ctx) : '/';
  const showLayers = ctx.flags.layers === true;
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
    const { entry, where } = entryWithProvenance(ov, p);
    return { ...entry, opaque: where.hiddenBy.some((h) => h.kind === 'opaque'), hiddenBelow: [] };
  };
  // Breadth of the tree on a queue, not recursion: an image may nest deeper than the stack.
  const root = lookingUp(start, () => nodeOf(start));
  const queue = [root];
  while (queue.length > 0) {
    const node = queue.pop()!;
    const p = node.path;
    if (node.type !== 'directory') continue;
    node.children = ov.readdirSync(p).map((n) => nodeOf(p === '/' ? `/${n}` : `${p}/${n}`));
    queue.push(...node.children);
    const visible = new Set(node.children.map((c) => c.path));
    node.hiddenBelow = (whiteoutsIn.get(p) ?? []).filter((w) => !visible.has(w.path));
  }
  if (ctx.json) return emitJson(ctx, root);
  const lines: string[] = [];
  const stack: Array<[Node, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [n, depth] = stack.pop()!;
    // The root is named by its path (`/`, `/etc/`), the rest by their names.
    const name = depth === 0 ? (n.path === '/' ? '/' : displayName(n.path, n)) : displayName(n.path.slice(n.path.lastIndexOf('/') + 1), n);
    let line = '  '.repeat(depth) + (n.type === 'directory' ? paint(ctx.io, 34, name) : name);
    if (showLayers) {
      line += paint(ctx.io, 2, `  [${layerName(n.layer)}]`);
      if (n.shadowed.length) line += paint(ctx.io, 33, ` shadows ${n.shadowed.map((s) => `L${s}`).join(',')}`);
      if (n.opaque) line += paint(ctx.io, 35, ' opaque');
    }
    lines.push(line);
    if (showLayers) for (const h of n.hiddenBelow) lines.push('  '.repeat(depth + 1) + paint(ctx.io, 31, `- ${h.path.slice(h.path.lastIndexOf('/') + 1)} (whiteout in L${h.layer})`));
    for (const c of [...(n.children ?? [])].reverse()) stack.push([c, depth + 1]);
  }
  out(ctx, lines.join('\n'));
}

import fc from 'fast-check';
import { LayerError, MemoryLayer, type LayerJSON } from '../../src/index.js';
import { LowerIndex } from '../../src/overlay/lower-index.js';
import type { Op } from '../kernel/differential.js';

/**
 * Random lower stacks and operation sequences for the differential harness. Paths come from a
 * small universe (names a, b, c; depth up to 3) so that layers and operations collide often:
 * the interesting cases are collisions (a whiteout over a directory a later layer re-creates,
 * a rename onto what another layer provides).
 */
const NAMES = ['a', 'b', 'c'];
const T = [Date.UTC(2001, 0, 1), Date.UTC(2002, 5, 1), Date.UTC(2003, 11, 1)];

export const pathArb: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 })
  .map((parts) => '/' + parts.join('/'));

const SYMLINK_TARGETS = ['a', 'b/c', '../a', '../../b/a', 'nope', '.', '..', '/a', '/a/b', '/c/nope', '/', 'c'];

type Kind =
  | { kind: 'file'; content: string; mode: number; uid: number; mtimeMs: number }
  | { kind: 'dir'; mode: number; uid: number; mtimeMs: number }
  | { kind: 'symlink'; target: string; mtimeMs: number }
  | { kind: 'hardlink'; to: string }
  | { kind: 'whiteout' }
  | { kind: 'opaque' };

const kindArb: fc.Arbitrary<Kind> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('file' as const), content: fc.constantFrom('', 'x', 'hello\n', 'layer data'), mode: fc.constantFrom(0o644, 0o600, 0o755, 0o4755, 0o2755), uid: fc.constantFrom(0, 1000), mtimeMs: fc.constantFrom(...T) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('dir' as const), mode: fc.constantFrom(0o755, 0o700, 0o1777), uid: fc.constantFrom(0, 1000), mtimeMs: fc.constantFrom(...T) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('symlink' as const), target: fc.constantFrom(...SYMLINK_TARGETS), mtimeMs: fc.constantFrom(...T) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hardlink' as const), to: pathArb }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'whiteout' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'opaque' as const }) },
);

function parentOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/')) || '/';
}

function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let d = parentOf(p); d !== '/'; d = parentOf(d)) out.push(d);
  return out;
}

/**
 * One layer as a LayerJSON an OCI tar could hold and a kernel lower directory can hold: no
 * name under a non-directory of the same layer, hard links only to files of the layer.
 */
export function toLayerJSON(items: [string, Kind][]): LayerJSON {
  const byPath = new Map<string, Kind>();
  const whiteouts = new Set<string>();
  const opaque = new Set<string>();
  for (const [p, k] of items) {
    if (k.kind === 'whiteout') whiteouts.add(p);
    else if (k.kind === 'opaque') opaque.add(p);
    else byPath.set(p, k);
  }
  const nonDir = (p: string) => {
    const k = byPath.get(p);
    return k !== undefined && k.kind !== 'dir';
  };
  const blocked = (p: string) => ancestors(p).some(nonDir);
  const json: LayerJSON = {};
  for (const [p, k] of byPath) {
    if (blocked(p)) continue;
    switch (k.kind) {
      case 'file': json[p] = { type: 'file', content: k.content, mode: k.mode, uid: k.uid, gid: k.uid, mtimeMs: k.mtimeMs }; break;
      case 'dir': json[p] = { type: 'directory', mode: k.mode, uid: k.uid, gid: k.uid, mtimeMs: k.mtimeMs }; break;
      case 'symlink': json[p] = { type: 'symlink', linkTarget: k.target, mtimeMs: k.mtimeMs }; break;
      case 'hardlink': {
        // To a file of this layer, or (when the layer has nothing at the target) to whatever
        // the layers below have there: stackArb keeps the links that resolve.
        const target = byPath.get(k.to);
        if (k.to !== p && !blocked(k.to) && (target?.kind === 'file' || (target === undefined && !whiteouts.has(k.to)))) json[p] = { type: 'hardlink', target: k.to };
        break;
      }
    }
  }
  for (const p of whiteouts) if (!blocked(p)) json[`${parentOf(p) === '/' ? '' : parentOf(p)}/.wh.${p.slice(p.lastIndexOf('/') + 1)}`] = '';
  for (const d of opaque) if (!blocked(d) && !nonDir(d)) json[`${d}/.wh..wh..opq`] = '';
  return json;
}

export const layerArb: fc.Arbitrary<LayerJSON> = fc.array(fc.tuple(pathArb, kindArb), { maxLength: 8 }).map(toLayerJSON);

export const stackArb = (minLayers: number, maxLayers: number): fc.Arbitrary<LayerJSON[]> =>
  fc.array(layerArb, { minLength: minLayers, maxLength: maxLayers }).map(keepResolvableLowerLinks);

/**
 * Makes the hard links to lower files valid for the stack: one whose target layerfs refuses
 * (no file there, a directory) is pointed at a file the layers below do have (chosen from its
 * name, so shrinking stays deterministic), and dropped if there is none or layerfs still
 * refuses it (a target the same layer also changes). The kernel then decides everything
 * about the links that stay (test/kernel makes them with link(2) on a mount of the layers
 * below).
 */
export function keepResolvableLowerLinks(stack: LayerJSON[]): LayerJSON[] {
  const built: MemoryLayer[] = [];
  return stack.map((original, i) => {
    const json = { ...original };
    let layer = MemoryLayer.fromJSON(json, `L${i}`);
    const retargeted = new Set<string>();
    let files: string[] | undefined;
    while (layer.lowerLinks.size > 0) {
      try {
        new LowerIndex([...built, layer]);
        break;
      } catch (e) {
        if (!(e instanceof LayerError) || !(e.entry in json)) throw e;
        // Only files this layer does not name: a link to the layer's own name is a link inside the layer.
        files ??= filesOf(new LowerIndex(built)).filter((f) => !(f in json));
        if (files.length > 0 && !retargeted.has(e.entry)) {
          retargeted.add(e.entry);
          json[e.entry] = { type: 'hardlink', target: files[[...e.entry].reduce((h, c) => h + c.charCodeAt(0), 0) % files.length]! };
        } else delete json[e.entry];
        layer = MemoryLayer.fromJSON(json, `L${i}`);
      }
    }
    built.push(layer);
    return json;
  });
}

/** The non-directories of a merged lower tree, sorted. */
function filesOf(index: LowerIndex): string[] {
  const out: string[] = [];
  const todo = [index.root];
  for (let n = todo.pop(); n; n = todo.pop()) for (const c of n.children?.values() ?? []) (c.children ? todo.push(c) : out.push(c.path));
  return out.sort();
}

const maybeSlash = (p: string): fc.Arbitrary<string> => fc.constantFrom(p, p, p, p + '/');
const slashedPath = pathArb.chain(maybeSlash);
const data = fc.constantFrom('', 'x', 'new data\n');
const seconds = fc.constantFrom(1_000_000_000, 1_100_000_000);

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(fc.constant('writeFile' as const), slashedPath, data),
  fc.tuple(fc.constant('appendFile' as const), pathArb, data),
  fc.tuple(fc.constant('open' as const), slashedPath, fc.constantFrom('r', 'r+', 'w', 'wx', 'a')),
  fc.tuple(fc.constant('truncate' as const), pathArb, fc.constantFrom(0, 3)),
  fc.tuple(fc.constant('unlink' as const), slashedPath),
  fc.tuple(fc.constant('mkdir' as const), slashedPath),
  fc.tuple(fc.constant('rmdir' as const), slashedPath),
  fc.tuple(fc.constant('rmrf' as const), pathArb),
  fc.tuple(fc.constant('rename' as const), slashedPath, slashedPath),
  fc.tuple(fc.constant('rename' as const), pathArb, pathArb),
  fc.tuple(fc.constant('link' as const), pathArb, slashedPath),
  fc.tuple(fc.constant('symlink' as const), fc.constantFrom(...SYMLINK_TARGETS), slashedPath),
  fc.tuple(fc.constant('chmod' as const), pathArb, fc.constantFrom(0o600, 0o755, 0o4755, 0o1777)),
  fc.tuple(fc.constant('chown' as const), pathArb, fc.constantFrom(0, 1000, -1), fc.constantFrom(0, 1000, -1)),
  fc.tuple(fc.constant('lchown' as const), pathArb, fc.constantFrom(0, 1000), fc.constantFrom(0, 1000)),
  fc.tuple(fc.constant('utimes' as const), pathArb, seconds, seconds),
  fc.tuple(fc.constant('lutimes' as const), pathArb, seconds, seconds),
  fc.tuple(fc.constant('readdir' as const), slashedPath),
  fc.tuple(fc.constant('readlink' as const), pathArb),
  fc.tuple(fc.constant('stat' as const), slashedPath),
  fc.tuple(fc.constant('lstat' as const), slashedPath),
  fc.tuple(fc.constant('readFile' as const), pathArb),
);

export const opsArb = (min: number, max: number): fc.Arbitrary<Op[]> => fc.array(opArb, { minLength: min, maxLength: max });

/** A failing case as a `Scenario` literal, ready to paste into test/kernel/scenarios.ts. */
export function formatScenario(layers: LayerJSON[], ops: Op[], redirectDir: boolean): string {
  const lit = (v: unknown): string => JSON.stringify(v);
  // Runs of empty layers (deep stacks) print as one spread line.
  const layerLines: string[] = [];
  for (let i = 0; i < layers.length; ) {
    let j = i;
    while (j < layers.length && Object.keys(layers[j]!).length === 0) j++;
    if (j - i > 2) {
      layerLines.push(`    ...Array.from({ length: ${j - i} }, () => ({})),`);
      i = j;
    } else {
      layerLines.push(`    ${lit(layers[i])},`);
      i++;
    }
  }
  const opLines = ops.map((o) => `    ${lit(o)},`).join('\n');
  return [
    '{',
    `  rule: 'regression', name: 'found by the differential harness',${redirectDir ? ' redirectDir: true,' : ''}`,
    '  layers: [',
    ...layerLines,
    '  ],',
    '  ops: [',
    opLines,
    '  ],',
    '},',
  ].join('\n');
}

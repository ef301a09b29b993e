import type { Verb } from './verb.js';
import { analyzeVerb } from './verbs/analyze.js';
import { catVerb } from './verbs/cat.js';
import { commitVerb } from './verbs/commit.js';
import { demoVerb } from './verbs/demo.js';
import { diffVerb } from './verbs/diff.js';
import { exportVerb } from './verbs/export.js';
import { inspectVerb } from './verbs/inspect.js';
import { lsVerb } from './verbs/ls.js';
import { serveVerb } from './verbs/serve.js';
import { statVerb } from './verbs/stat.js';
import { treeVerb } from './verbs/tree.js';
import { whyVerb } from './verbs/why.js';

/** Every verb by its name, in the order `layerfs --help` lists them. */
export const VERBS: Readonly<Record<string, Verb>> = {
  inspect: inspectVerb,
  tree: treeVerb,
  ls: lsVerb,
  why: whyVerb,
  cat: catVerb,
  stat: statVerb,
  diff: diffVerb,
  analyze: analyzeVerb,
  export: exportVerb,
  commit: commitVerb,
  serve: serveVerb,
  demo: demoVerb,
};

/**
 * The verb of that name, or undefined: an own property only, so that `layerfs constructor`
 * or `layerfs toString` is an unknown verb, not Object.prototype's function called as one.
 */
export function verbNamed(name: string): Verb | undefined {
  return Object.hasOwn(VERBS, name) ? VERBS[name] : undefined;
}

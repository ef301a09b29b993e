import type { Verb } from './verb.js';

/**
 * Every verb by its name, in the order `layerfs --help` lists them, each module loaded when
 * its verb is run: `layerfs inspect` then loads no overlay, export or server code, which
 * would take most of its process's time.
 */
const LOADERS: Readonly<Record<string, () => Promise<Verb>>> = {
  inspect: async () => (await import('./verbs/inspect.js')).inspectVerb,
  tree: async () => (await import('./verbs/tree.js')).treeVerb,
  ls: async () => (await import('./verbs/ls.js')).lsVerb,
  why: async () => (await import('./verbs/why.js')).whyVerb,
  cat: async () => (await import('./verbs/cat.js')).catVerb,
  stat: async () => (await import('./verbs/stat.js')).statVerb,
  diff: async () => (await import('./verbs/diff.js')).diffVerb,
  analyze: async () => (await import('./verbs/analyze.js')).analyzeVerb,
  export: async () => (await import('./verbs/export.js')).exportVerb,
  commit: async () => (await import('./verbs/commit.js')).commitVerb,
  pull: async () => (await import('./verbs/pull.js')).pullVerb,
  push: async () => (await import('./verbs/push.js')).pushVerb,
  images: async () => (await import('./verbs/images.js')).imagesVerb,
  prune: async () => (await import('./verbs/prune.js')).pruneVerb,
  mount: async () => (await import('./verbs/mount.js')).mountVerb,
  serve: async () => (await import('./verbs/serve.js')).serveVerb,
  demo: async () => (await import('./verbs/demo.js')).demoVerb,
};

/** Every verb, loaded (for `layerfs --help`, which lists them all). */
export async function allVerbs(): Promise<Record<string, Verb>> {
  return Object.fromEntries(await Promise.all(Object.entries(LOADERS).map(async ([name, load]) => [name, await load()] as const)));
}

/**
 * The verb of that name, or undefined: an own property only, so that `layerfs constructor`
 * or `layerfs toString` is an unknown verb, not Object.prototype's function called as one.
 */
export async function verbNamed(name: string): Promise<Verb | undefined> {
  return Object.hasOwn(LOADERS, name) ? LOADERS[name]!() : undefined;
}

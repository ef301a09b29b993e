import { builtinFor } from './linux.js';

/**
 * A Node built-in in the page's bundle: the Linux constants the engine reads (./linux.ts),
 * and for anything else (the export paths use fs, zlib, child_process) a function that
 * throws when called, naming what was asked for. The engine loads; only Node-only calls fail.
 */
export function absentModule(name: string): unknown {
  const known = builtinFor(name);
  return new Proxy(known, {
    get(target, key) {
      if (key === '__esModule') return false;
      if (typeof key === 'string' && key in target) return target[key];
      return function absent() {
        throw new Error(`${name}.${String(key)} is not available in the browser`);
      };
    },
  });
}

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

const require = createRequire(import.meta.url);
const nodeFs = require('node:fs') as Record<string, unknown> & { promises: Record<string, unknown> };

/**
 * Libraries merge the `fs` they are given over Node's own (`{ ...fs, ...options.fs }`, and
 * path-scurry does `{ ...fs.promises, ...options.fs.promises }`): a name ov.fs lacks is then
 * the host's, silently. Each of Node's names is therefore an own property of ov.fs and of
 * ov.fs.promises, `undefined` where the overlay has no such call, so the merge gives nothing
 * rather than the host's call.
 */
describe("ov.fs merged over Node's fs gives no call of the host's", () => {
  const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/f': 'x' })] });

  it('ov.fs: every name of node:fs is an own property', () => {
    const merged: Record<string, unknown> = { ...nodeFs, ...ov.fs };
    expect(Object.keys(nodeFs).filter((k) => typeof nodeFs[k] === 'function' && merged[k] === nodeFs[k])).toEqual([]);
  });

  it('ov.fs.promises: every name of fs.promises is an own property (mkdtemp, opendir, cp, watch: not the host\'s)', async () => {
    const merged: Record<string, unknown> = { ...nodeFs.promises, ...ov.fs.promises };
    // What a library that merges would make: a temporary directory of the host's, not the overlay's.
    expect(merged.mkdtemp).not.toBe(nodeFs.promises.mkdtemp);
    expect(Object.keys(nodeFs.promises).filter((k) => typeof nodeFs.promises[k] === 'function' && merged[k] === nodeFs.promises[k])).toEqual([]);
  });
});

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

const require = createRequire(import.meta.url);
const nodeFs = require('node:fs') as Record<string, unknown>;
const API_DOC = new URL('../../docs/api.md', import.meta.url);

/** Every name of a module object: its own keys, and those of its functions (`realpath.native`). */
function names(mod: Record<string, unknown>, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const k of Object.keys(mod)) {
    const v = mod[k];
    out.set(prefix + k, v);
    if (typeof v === 'function') for (const m of Object.keys(v)) out.set(`${prefix}${k}.${m}`, (v as unknown as Record<string, unknown>)[m]);
  }
  return out;
}

/** Node's names that ov.fs does not have with a value of the same kind (a function for a function, nothing where Node has nothing). */
function lacking(ours: Record<string, unknown>): string[] {
  const missing: string[] = [];
  const compare = (theirs: Map<string, unknown>, mine: Map<string, unknown>) => {
    for (const [k, v] of theirs) if (!mine.has(k) || typeof mine.get(k) !== typeof v) missing.push(k);
  };
  compare(names(nodeFs), names(ours));
  compare(names(nodeFs.promises as Record<string, unknown>, 'promises.'), names(ours.promises as Record<string, unknown>, 'promises.'));
  return missing.sort();
}

/** The names docs/api.md lists under "What `ov.fs` lacks of `node:fs`", each item's backticked names before its reason. */
function documented(): Map<string, string> {
  const doc = readFileSync(API_DOC, 'utf8');
  const start = doc.indexOf('### What `ov.fs` lacks of `node:fs`');
  expect(start, 'docs/api.md has the section').toBeGreaterThan(0);
  const section = doc.slice(start).split(/\n#{2,3} /)[0]!;
  const out = new Map<string, string>();
  for (const item of section.split('\n- ').slice(1)) {
    const head = /^((?:`[^`]+`(?:, )?)+)/.exec(item);
    if (!head) continue;
    for (const [, name] of head[1]!.matchAll(/`([^`]+)`/g)) out.set(name!, item.replace(/\s+/g, ' ').trim());
  }
  return out;
}

describe("ov.fs's surface against node:fs", () => {
  const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/f': 'x' })] });
  const missing = lacking(ov.fs as unknown as Record<string, unknown>);
  const doc = documented();

  it('every name of node:fs (and fs.promises) that ov.fs lacks is in docs/api.md with its reason', () => {
    const undocumented = missing.filter((n) => !doc.has(n));
    expect(undocumented, `add these to docs/api.md, "What \`ov.fs\` lacks of \`node:fs\`", or to ov.fs`).toEqual([]);
    for (const n of missing) expect(doc.get(n)!.length, `${n}: a reason, not only the name`).toBeGreaterThan(n.length + 4);
  });

  it('docs/api.md lists no name that ov.fs has (a stale entry, or a pending one now merged)', () => {
    expect([...doc.keys()].filter((n) => !missing.includes(n))).toEqual([]);
  });

  it('the walk sees what it should: names Node has, a missing one when a member is taken away', () => {
    expect(names(nodeFs).has('realpath.native')).toBe(true);
    const { readFileSync: _gone, ...rest } = ov.fs;
    expect(lacking(rest as unknown as Record<string, unknown>)).toContain('readFileSync');
  });
});

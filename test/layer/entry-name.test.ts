import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { layerPath, utf8Name } from '../../src/tar/entry-name.js';
import { isNormal, normalize } from '../../src/util/path.js';

/** Tar names built from the parts that matter: empty, `.`, `..`, and names that only look like them. */
const rawName = fc.array(fc.constantFrom('', '.', '..', 'a', 'b.c', '..a', '.a', 'a..', 'ü'), { maxLength: 6 }).map((parts) => parts.join('/'));

describe('entry names: the fast paths give what splitting gives', () => {
  it('layerPath drops empty and . components, refuses .., and adds the leading slash', () => {
    fc.assert(fc.property(rawName, (raw) => {
      const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
      const want = parts.includes('..') ? 'refused' : `/${parts.join('/')}`;
      const got = layerPath(raw);
      expect('refused' in got ? 'refused' : got.path).toBe(want);
    }), { numRuns: 2000 });
  });

  it('normalize folds .. lexically, and leaves a normal path as it is', () => {
    fc.assert(fc.property(rawName, fc.boolean(), (raw, absolute) => {
      const out: string[] = [];
      for (const p of (absolute ? `/${raw}` : raw).split('/')) {
        if (p === '' || p === '.') continue;
        if (p === '..') out.pop();
        else out.push(p);
      }
      expect(normalize(absolute ? `/${raw}` : raw)).toBe(`/${out.join('/')}`);
    }), { numRuns: 2000 });
  });

  it('isNormal is true exactly for an absolute path splitting leaves as it is', () => {
    fc.assert(fc.property(rawName, fc.constantFrom('', '/', '//'), (raw, lead) => {
      const path = lead + raw;
      const parts = path.split('/').slice(1);
      const normal = path === '/' || (path.startsWith('/') && parts.every((p) => p !== '' && p !== '.' && p !== '..'));
      expect(isNormal(path)).toBe(normal);
    }), { numRuns: 3000 });
    for (const path of ['/', '/a', '/a/b', '/.a', '/..a', '/a.', '/a..', '/a/...']) expect(isNormal(path)).toBe(true);
    for (const path of ['', 'a', '/a/', '//a', '/a//b', '/.', '/..', '/a/.', '/a/..', '/./a', '/../a']) expect(isNormal(path)).toBe(false);
  });

  it('utf8Name passes ASCII through and decodes or refuses the rest', () => {
    expect(utf8Name('usr/bin/ls')).toBe('usr/bin/ls');
    expect(utf8Name(Buffer.from('café', 'utf8').toString('latin1'))).toBe('café');
    expect(utf8Name('\xff\xfe')).toBeUndefined();
  });
});

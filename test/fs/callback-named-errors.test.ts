import { describe, expect, it } from 'vitest';
import { sides, shape, type Side } from './surface-harness.js';

/**
 * The callback opendir and mkdtemp fail as Node's asynchronous binding does, as the
 * promises do, not as their sync calls: Node 20's opendirSync error has no path, the callback
 * one names it; mkdtempSync's names the template (`xXXXXXX`), the callback one the name it
 * tried. Compared with Node's callback calls on a real directory (the six random characters
 * of a tried name masked).
 */

const mask = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/(tmpl)[A-Za-z0-9]{6}/g, '$1??????'));

function viaCallback(s: Side, call: (fs: any, cb: (e: unknown) => void) => void): Promise<unknown> {
  return new Promise((resolve) => call(s.ov ? s.ov.fs : s.fs, (e) => resolve(mask(shape(e, s.root)))));
}

describe('callback opendir and mkdtemp errors', () => {
  it('name the path as Node\'s callback calls do', async () => {
    const { real, ov } = sides({ '/f': 'f', '/d/a': 'a' });
    const calls: Array<(s: Side) => (fs: any, cb: (e: unknown) => void) => void> = [
      (s) => (fs, cb) => fs.opendir(s.at('/f'), cb),
      (s) => (fs, cb) => fs.opendir(s.at('/nope'), { bufferSize: 4 }, cb),
      (s) => (fs, cb) => fs.mkdtemp(s.at('/nope/tmpl'), cb),
      (s) => (fs, cb) => fs.mkdtemp(s.at('/f/tmpl'), 'utf8', cb),
    ];
    for (const call of calls) expect(await viaCallback(ov, call(ov))).toEqual(await viaCallback(real, call(real)));
  });
});

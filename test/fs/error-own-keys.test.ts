import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { sides, type Side } from './surface-harness.js';

/**
 * An fs error's own enumerable properties are Node's, in Node's order (errno, code, syscall,
 * then path and dest only when the call names them): what Object.keys, JSON.stringify, a
 * spread and util.inspect's field list show (its first line names the class, OverlayFsError).
 * `name` is Error.prototype's, not the error's own.
 */

const calls: Array<[string, (s: Side) => unknown]> = [
  ['stat', (s) => s.fs.statSync(s.at('/nope'))],
  ['close', (s) => s.fs.closeSync(987654)],
  ['rename', (s) => s.fs.renameSync(s.at('/nope'), s.at('/x'))],
  ['link', (s) => s.fs.linkSync(s.at('/f'), s.at('/f'))],
];

function seen(s: Side, call: (s: Side) => unknown): unknown {
  try {
    call(s);
    return 'no error';
  } catch (e) {
    const strip = (t: string) => (s.root ? t.split(s.root).join('') : t);
    const err = e as Error;
    return { keys: Object.keys(err), json: strip(JSON.stringify(err)), name: err.name, own: Object.hasOwn(err, 'name'), fields: strip(inspect(err).replace(/\n {4}at [^\n]*/g, '')).split('\n').slice(1) };
  }
}

describe('an fs error\'s own properties', () => {
  for (const [name, call] of calls) {
    it(`${name}: the keys, JSON and inspect of Node's error`, () => {
      const { real, ov } = sides({ '/f': 'f' });
      expect(seen(ov, call)).toEqual(seen(real, call));
    });
  }
});

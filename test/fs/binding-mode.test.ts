import { describe, expect, it } from 'vitest';
import { outcome, sides } from './surface-harness.js';

/**
 * The mode of access and copyFile as Node 20's binding reads it: a number whose integer part
 * is the mode (-0.5 is 0, 7.9 is 7), NaN and the infinities out of range without a range in
 * the message, an integer part outside [0, 7] out of range with one; anything but a number
 * or nothing a TypeError. Compared with Node's own calls on a real directory.
 */

const MODES = [NaN, Infinity, -Infinity, -0.5, -0.99, 0.5, 7.5, 7.999, -1, 8, 1e20, -1e20, 2 ** 31, '1', null, undefined];

describe('the access and copyFile mode', () => {
  it('is read as Node\'s binding reads it', () => {
    const { real, ov } = sides({ '/f': 'f' });
    for (const mode of MODES) {
      for (const [name, call] of [
        ['accessSync', (s: typeof real) => s.fs.accessSync(s.at('/f'), mode as number)],
        ['copyFileSync', (s: typeof real) => s.fs.copyFileSync(s.at('/f'), s.at('/g'), mode as number)],
      ] as const) {
        expect([name, mode, outcome(() => call(ov), ov.root)]).toEqual([name, mode, outcome(() => call(real), real.root)]);
      }
    }
  });
});

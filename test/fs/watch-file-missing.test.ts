import type * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sides, type Side } from './surface-harness.js';

/**
 * fs.watchFile of a path that is missing when the watch starts, against Node 20's on a real
 * directory: libuv's uv_fs_poll reports a first stat that fails (poll_cb with the error), so
 * the listener is called once with zeroed Stats for both curr and prev (the Node docs: "When
 * an fs.watchFile operation results in an ENOENT error, it will invoke the listener once,
 * with all the fields zeroed"); it stays quiet while the file is still missing, and reports
 * the file when it comes.
 */

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(s: Side, bigint: boolean): Promise<unknown[]> {
  const log: unknown[] = [];
  const listener = (curr: fs.Stats | fs.BigIntStats, prev: fs.Stats | fs.BigIntStats) =>
    log.push({ curr: [typeof curr.size, String(curr.size), String(curr.mtimeMs), curr.isFile()], prev: [String(prev.size), String(prev.mtimeMs), prev.isFile()] });
  s.fs.watchFile(s.at('/d/later'), { interval: 20, bigint } as never, listener as never);
  await settle(120);
  s.fs.writeFileSync(s.at('/d/later'), 'here');
  await settle(120);
  s.fs.unwatchFile(s.at('/d/later'));
  // What changed when it came is compared, not the time it came at.
  return log.map((e, i) => (i === 1 ? { ...(e as object), curr: (e as { curr: unknown[] }).curr.filter((_, j) => j !== 2) } : e));
}

describe('watchFile of a file missing at the start', () => {
  for (const bigint of [false, true]) {
    it(`calls the listener once with zeroed Stats, then when the file comes, as Node${bigint ? ' (bigint)' : ''}`, async () => {
      const { real, ov } = sides({ '/d/a': 'a' });
      const expected = await run(real, bigint);
      expect(expected).toHaveLength(2);
      expect(await run(ov, bigint)).toEqual(expected);
    });
  }

  it('an unwatchFile in the same turn as the watchFile calls nothing, as Node', async () => {
    const { real, ov } = sides({ '/d/a': 'a' });
    const quick = async (s: Side) => {
      let calls = 0;
      s.fs.watchFile(s.at('/d/gone'), { interval: 20 }, () => calls++);
      s.fs.unwatchFile(s.at('/d/gone'));
      await settle(80);
      return calls;
    };
    expect(await quick(ov)).toBe(await quick(real));
  });
});

import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sides, type Side } from './surface-harness.js';

/**
 * copyFile's inotify events, as libuv's uv__fs_copyfile raises them: it opens the destination
 * O_CREAT (IN_CREATE for a new file), and only without COPYFILE_EXCL ftruncates it (IN_MODIFY)
 * before its fchmod (IN_ATTRIB) and the copy (IN_MODIFY, when there are bytes). Compared
 * with Node's fs.watch of the directory on a real one.
 */

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function events(s: Side, op: (s: Side) => void): Promise<unknown[]> {
  const seen: unknown[] = [];
  const w = s.fs.watch(s.at('/d'), (type, name) => seen.push([type, name]));
  await settle(30);
  op(s);
  await settle(150);
  w.close();
  return seen;
}

describe('copyFile events', () => {
  const { COPYFILE_EXCL } = fs.constants;
  const cases: Array<[string, (s: Side) => void]> = [
    ['COPYFILE_EXCL to a new name', (s) => s.fs.copyFileSync(s.at('/d/a'), s.at('/d/new'), COPYFILE_EXCL)],
    ['COPYFILE_EXCL of an empty file', (s) => s.fs.copyFileSync(s.at('/d/empty'), s.at('/d/new'), COPYFILE_EXCL)],
    ['no flags, to a new name', (s) => s.fs.copyFileSync(s.at('/d/a'), s.at('/d/new'))],
    ['no flags, over an existing file', (s) => s.fs.copyFileSync(s.at('/d/a'), s.at('/d/b'))],
  ];
  for (const [name, op] of cases) {
    it(`${name}: the events of a real directory`, async () => {
      const { real, ov } = sides({ '/d/a': 'abc', '/d/b': 'old', '/d/empty': '' });
      expect(await events(ov, op)).toEqual(await events(real, op));
    });
  }
});

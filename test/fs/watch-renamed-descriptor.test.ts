import { describe, expect, it } from 'vitest';
import { sides, type Side } from './surface-harness.js';

/**
 * The events of a change made through a descriptor whose file was renamed or unlinked since
 * it was opened: inotify reports it where the file is now (fsnotify_modify and
 * fsnotify_change take the open file's dentry: its current parent and name), and nowhere once
 * it has no name. Compared with Node's fs.watch of the directories on a real one.
 */

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function events(s: Side, op: (s: Side) => void): Promise<unknown[]> {
  const seen: unknown[] = [];
  const watchers = ['/d', '/e'].map((p) => s.fs.watch(s.at(p), (type, name) => seen.push([p, type, name])));
  await settle(30);
  op(s);
  await settle(150);
  for (const w of watchers) w.close();
  return seen;
}

describe('changes through a descriptor of a renamed file', () => {
  const cases: Array<[string, (s: Side) => void]> = [
    ['write after a rename in the directory', (s) => {
      const fd = s.fs.openSync(s.at('/d/a'), 'r+');
      s.fs.renameSync(s.at('/d/a'), s.at('/d/b'));
      s.fs.writeSync(fd, 'W');
      s.fs.closeSync(fd);
    }],
    ['write and fchmod after a rename to another directory', (s) => {
      const fd = s.fs.openSync(s.at('/d/a'), 'r+');
      s.fs.renameSync(s.at('/d/a'), s.at('/e/moved'));
      s.fs.writeSync(fd, 'W');
      s.fs.fchmodSync(fd, 0o600);
      s.fs.ftruncateSync(fd, 1);
      s.fs.closeSync(fd);
    }],
    ['write after an unlink', (s) => {
      const fd = s.fs.openSync(s.at('/d/a'), 'r+');
      s.fs.unlinkSync(s.at('/d/a'));
      s.fs.writeSync(fd, 'W');
      s.fs.futimesSync(fd, 1, 1);
      s.fs.closeSync(fd);
    }],
  ];
  for (const [name, op] of cases) {
    it(`${name}: the events of a real directory`, async () => {
      const { real, ov } = sides({ '/d/a': 'abc', '/e/x': 'x' });
      expect(await events(ov, op)).toEqual(await events(real, op));
    });
  }
});

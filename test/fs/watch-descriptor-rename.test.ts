import { describe, expect, it } from 'vitest';
import { sides, type Side } from './surface-harness.js';

/**
 * Writes through a descriptor of a file renamed since it was opened, against Node 20's
 * fs.watch (inotify) on a real directory: fsnotify_modify reports to the parent of the
 * file's name now, with that name (the dentry the open file holds moves with the rename).
 */

const tree = { '/d/a': 'a', '/e/x': 'x' };
const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms));

async function run(s: Side): Promise<unknown[]> {
  const seen: unknown[] = [];
  s.fs.writeFileSync(s.at('/d/u'), 'upper');
  const fd = s.fs.openSync(s.at('/d/u'), 'r+');
  const watchers = ['/d', '/e'].map((p) => s.fs.watch(s.at(p), (type, name) => seen.push([p, type, name])));
  await settle(30);
  s.fs.renameSync(s.at('/d/u'), s.at('/d/v'));
  await settle();
  s.fs.writeSync(fd, 'Q', 0);
  await settle();
  s.fs.renameSync(s.at('/d/v'), s.at('/e/v'));
  await settle();
  s.fs.ftruncateSync(fd, 1);
  await settle();
  s.fs.closeSync(fd);
  for (const w of watchers) w.close();
  return seen;
}

describe('fs.watch and a descriptor of a renamed file', () => {
  it('reports its writes under the name it has now, to that name\'s directory', async () => {
    const { real, ov } = sides(tree);
    expect(await run(ov)).toEqual(await run(real));
  });
});

import { describe, expect, it } from 'vitest';
import { sides, type Side } from './surface-harness.js';

/**
 * A watch of a name that a rename replaces (rename(2) over an existing file or empty
 * directory), against Node 20's fs.watch (inotify) on a real directory: fsnotify_move
 * reports the target's link count (IN_ATTRIB) and, its last name gone, the inode's
 * IN_DELETE_SELF and IN_IGNORED; the watch is gone then, and what is done afterwards to the
 * object moved in is not reported to it.
 */

const tree = { '/d/a': 'a', '/d/b': 'b' };
const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

async function events(s: Side, paths: string[], op: (s: Side) => void): Promise<unknown[]> {
  const seen: unknown[] = [];
  const watchers = paths.map((p, i) => s.fs.watch(s.at(p), (type, name) => seen.push([i, type, name])));
  await settle(30);
  op(s);
  await settle();
  for (const w of watchers) w.close();
  return seen;
}

describe('fs.watch of a name a rename replaces', () => {
  it('a file renamed over a watched file, then written', async () => {
    const op = (s: Side) => {
      s.fs.renameSync(s.at('/d/b'), s.at('/d/a'));
      s.fs.writeFileSync(s.at('/d/a'), 'new');
    };
    const { real, ov } = sides(tree);
    // The moved file's own watch (of /d/b) follows its inode in Node and goes silent here (docs/api.md): not watched.
    expect(await events(ov, ['/d', '/d/a'], op)).toEqual(await events(real, ['/d', '/d/a'], op));
  });

  it('a directory renamed over a watched empty directory, then filled', async () => {
    const op = (s: Side) => {
      s.fs.renameSync(s.at('/d/s1'), s.at('/d/s2'));
      s.fs.writeFileSync(s.at('/d/s2/x'), 'new');
    };
    const { real, ov } = sides(tree);
    // Made through the overlay, in its upper layer: a lower directory's rename is EXDEV (no redirect_dir).
    for (const s of [real, ov]) for (const d of ['/d/s1', '/d/s2']) s.fs.mkdirSync(s.at(d));
    expect(await events(ov, ['/d', '/d/s2'], op)).toEqual(await events(real, ['/d', '/d/s2'], op));
  });
});

describe('fs.watch of a file below a directory that is moved', () => {
  it('does not report a new file made at its old path', async () => {
    const op = (s: Side) => {
      s.fs.renameSync(s.at('/d/s1'), s.at('/d/s3'));
      s.fs.mkdirSync(s.at('/d/s1'));
      s.fs.writeFileSync(s.at('/d/s1/x'), 'another file');
    };
    const { real, ov } = sides(tree);
    for (const s of [real, ov]) {
      s.fs.mkdirSync(s.at('/d/s1'));
      s.fs.writeFileSync(s.at('/d/s1/x'), 'x');
    }
    // inotify's watch follows /d/s1/x to /d/s3/x, where nothing changes; the overlay's goes silent.
    expect(await events(ov, ['/d/s1/x'], op)).toEqual(await events(real, ['/d/s1/x'], op));
  });
});

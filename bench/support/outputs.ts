import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Output directories for benches that write a tree, on tmpfs (/dev/shm when there is one: on a
 * disk, writeback throttling made runs of the same export vary severalfold). An output is moved
 * aside after its run (a rename, untimed) and the moved ones are deleted by `emptyTrash`, which a
 * bench gives as its teardown. All is removed when the file's benchmarks end: vitest ends its
 * bench workers without an 'exit' event, and outputs left on /dev/shm took 1.8 GiB of memory a
 * run until the machine slowed.
 */
export function benchOutputs(prefix: string) {
  const root = fs.mkdtempSync(join(fs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix));
  const trash = join(root, 'trash');
  fs.mkdirSync(trash);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return {
    root,
    /** A new empty directory under root. */
    fresh(): string {
      const d = join(root, `out${n++}`);
      fs.mkdirSync(d);
      return d;
    },
    /** A new name under root, not yet made (for tools that make their target themselves). */
    name: (base: string) => join(root, `${base}${n++}`),
    /** Moves an output out of the way without timing its removal. */
    discard: (d: string) => fs.renameSync(d, join(trash, `${n++}`)),
    /** Untimed, after each implementation's runs: the outputs it moved aside. */
    emptyTrash(): void {
      fs.rmSync(trash, { recursive: true, force: true });
      fs.mkdirSync(trash);
    },
  };
}

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * A scratch directory for one test file, removed after its tests: `fresh(name)` makes a new
 * empty directory in it each call.
 */
export function scratch(prefix: string): { work: string; fresh: (name: string) => string } {
  const work = fs.mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  let n = 0;
  return {
    work,
    fresh: (name) => {
      const d = join(work, `${name}${n++}`);
      fs.mkdirSync(d);
      return d;
    },
  };
}

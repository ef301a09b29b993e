import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** Runs a README example as written (importing the package by its name) and gives what it logged. */
async function run(code: string, name: string): Promise<unknown[][]> {
  const file = join(here, `.readme-example-${name}.tmp.ts`);
  writeFileSync(file, code.replace("from 'layerfs'", "from '../src/index.js'"));
  const logs: unknown[][] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args));
  try {
    await import(file);
  } finally {
    spy.mockRestore();
    rmSync(file);
  }
  return logs;
}

/** The README examples must run as written, and print what their comments say. */
it('the README example runs and prints what its comments say', async () => {
  expect(await run(examples[0]!, 'overlay')).toEqual([
    ['copy-up', '/etc'],
    ['copy-up', '/etc/passwd'],
    ['copy-up', '/app'],
    [['passwd']],
    ['upper'],
    [{ '/app/.wh.main.js': '', '/etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n' }],
  ]);
});

it("the README's ov.fs example runs: fast-glob sees the overlay", async () => {
  const logs = await run(examples[1]!, 'fs');
  expect(logs).toEqual([[['index.js', 'lib/new.js', 'lib/util.js']], [true]]);
});

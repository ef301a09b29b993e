import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';

/** The README example must run as written (importing the package by its name). */
it('the README example runs and prints what its comments say', async () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  const file = join(here, '.readme-example.tmp.ts');
  writeFileSync(file, code.replace("from 'layerfs'", "from '../src/index.js'"));
  const logs: unknown[][] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args));
  try {
    await import(file);
  } finally {
    spy.mockRestore();
    rmSync(file);
  }
  expect(logs).toEqual([
    ['copy-up', '/etc'],
    ['copy-up', '/etc/passwd'],
    ['copy-up', '/app'],
    [['passwd']],
    ['upper'],
    [{ '/app/.wh.main.js': '', '/etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n' }],
  ]);
});

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { OverlayFs } from '../../src/fs/overlay-fs.js';

/**
 * whereIs scans every layer for the path: tree asks it once per entry (it asked twice, once for
 * the entry's JSON and once for its opaque marker). The output is what it was (cli.test.ts checks it).
 */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t.toString()), stderr: (t) => void (stderr += t), stderrIsTTY: false, color: false });
  return { code, stdout, stderr };
}

afterEach(() => vi.restoreAllMocks());

/** The nodes of tree --json, the root among them. */
function countNodes(node: { children?: unknown[] }): number {
  return 1 + (node.children ?? []).reduce<number>((n, c) => n + countNodes(c as { children?: unknown[] }), 0);
}

describe('lookups the tree verb makes', () => {
  it('tree: one whereIs per entry', async () => {
    const whereIs = vi.spyOn(OverlayFs.prototype, 'whereIs');
    const r = await cli('tree', DEMO, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(whereIs).toHaveBeenCalledTimes(countNodes(JSON.parse(r.stdout)));
  });
});

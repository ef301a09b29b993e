import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { main } from '../../src/cli/main.js';
import { Image } from '../../src/image/image.js';
import { MemoryLayer, type LayerJSON } from '../../src/index.js';
import { layerToTar } from '../support/to-tar.js';
import { writeOciLayout } from '../support/oci-layout.js';
import { OverlayFs } from '../../src/fs/overlay-fs.js';

/**
 * whereIs scans every layer for the path: tree asks it once per entry (it asked twice, once for
 * the entry's JSON and once for its opaque marker), and why makes one overlay, not one per
 * version a parent hides. The output is what it was (cli.test.ts checks it).
 */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t.toString()), stderr: (t) => void (stderr += t), stderrIsTTY: false, color: false });
  return { code, stdout, stderr };
}

const work = fs.mkdtempSync(join(tmpdir(), 'lfs-one-lookup-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** The nodes of tree --json, the root among them. */
function countNodes(node: { children?: unknown[] }): number {
  return 1 + (node.children ?? []).reduce<number>((n, c) => n + countNodes(c as { children?: unknown[] }), 0);
}

describe('lookups the tree and why verbs make', () => {
  it('tree: one whereIs per entry', async () => {
    const whereIs = vi.spyOn(OverlayFs.prototype, 'whereIs');
    const r = await cli('tree', DEMO, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(whereIs).toHaveBeenCalledTimes(countNodes(JSON.parse(r.stdout)));
  });

  it('why: one overlay, however many versions a parent hides', async () => {
    // /a/b/f in L0, L1 and L2; /a deleted by a whiteout in L3 and made again in L4, /a/b opaque in
    // L5: the nearest parent that hides them is told.
    const image = join(work, 'hidden');
    writeOciLayout(image, await Promise.all(([
      { '/a/b/f': 'l0\n' }, { '/a/b/f': 'l1\n' }, { '/a/b/f': 'l2\n' }, { '/.wh.a': '' }, { '/a/b/g': 'l4\n' }, { '/a/b/.wh..wh..opq': '', '/a/b/h': 'l5\n' },
    ] as LayerJSON[]).map((json: LayerJSON, i) => layerToTar(MemoryLayer.fromJSON(json, `L${i}`)))));
    const overlay = vi.spyOn(Image.prototype, 'overlay');
    const r = await cli('why', image, '/a/b/f');
    expect(r).toEqual({ code: 0, stderr: '', stdout: [
      '/a/b/f: not visible',
      '  L2    file                                 hidden by the opaque marker on /a/b in L5',
      '  L1    file                                 hidden by the opaque marker on /a/b in L5',
      '  L0    file                                 hidden by the opaque marker on /a/b in L5',
      '',
    ].join('\n') });
    expect(overlay).toHaveBeenCalledTimes(1);
  });
});

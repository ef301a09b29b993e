import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

/**
 * readFileSync and promises.readFile of an UPPER file over 2 GiB is refused with ERR_FS_FILE_TOO_LARGE, as Node
 * refuses a real (sparse) file of that size, and as the overlay already refused a lower one
 * (test/layer/large-file.test.ts). memfs holds the upper file's bytes, so this test makes
 * 2 GiB + 1 of them (about 2 GiB resident for a second or two): there is no smaller bound
 * to test against.
 */
const SIZE = 2 ** 31 + 1;

async function refusal(read: () => unknown): Promise<unknown> {
  try {
    await read();
  } catch (e) {
    const err = e as Error & { code?: string };
    return { class: err.constructor.name, code: err.code, message: err.message };
  }
  return 'read';
}

describe('readFile of an upper file over 2 GiB', () => {
  it('is refused (readFileSync and promises.readFile) with what Node gives for a real file of the size', async () => {
    const dir = nodeFs.mkdtempSync(join(tmpdir(), 'lfs-too-large-'));
    let node: unknown;
    try {
      nodeFs.writeFileSync(join(dir, 'big'), '');
      nodeFs.truncateSync(join(dir, 'big'), SIZE);
      node = [await refusal(() => nodeFs.readFileSync(join(dir, 'big'))), await refusal(() => nodeFs.promises.readFile(join(dir, 'big')))];
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/small': 'x' })] });
    ov.writeFileSync('/big', '');
    ov.truncateSync('/big', SIZE);
    expect(ov.statSync('/big').size).toBe(SIZE);
    expect([await refusal(() => ov.readFileSync('/big')), await refusal(() => ov.promises.readFile('/big'))]).toEqual(node);
    expect(node).toMatchObject([{ class: 'RangeError', code: 'ERR_FS_FILE_TOO_LARGE' }, { class: 'RangeError', code: 'ERR_FS_FILE_TOO_LARGE' }]);
    ov.truncateSync('/big', 0);
  }, 60_000);
});

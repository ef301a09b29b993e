import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { collectGarbage as collect } from '../support/collect-garbage.js';

/**
 * Node 20 closes a FileHandle that is garbage collected without close() (with the warning
 * "Closing file descriptor N on garbage collection", DEP0137, lib/internal/fs/promises.js and
 * FileHandle::~FileHandle in src/node_file.cc): the overlay's does too, or its descriptor and
 * the open file (and an unlinked file's content) stay in the overlay's table for good.
 */
describe('a FileHandle collected without close()', () => {
  it('has its descriptor closed, with Node warning', async () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/f': 'lower' })] });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const fds: number[] = [];
      for (let i = 0; i < 3; i++) fds.push((await ov.fs.promises.open('/f', 'r')).fd);
      const kept = await ov.fs.promises.open('/f', 'r');
      await collect();
      for (const fd of fds) expect(() => ov.fs.fstatSync(fd), `fd ${fd}`).toThrow(expect.objectContaining({ code: 'EBADF' }));
      expect(warnings).toEqual(expect.arrayContaining(fds.map((fd) => `Closing file descriptor ${fd} on garbage collection`)));
      // One still referenced stays open; one closed is not closed again.
      expect(ov.fs.fstatSync(kept.fd).size).toBe(5);
      await kept.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});

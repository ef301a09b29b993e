import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

/**
 * exportTar of an entry 20,000 directories deep (issue 13, "Size and depth"): 20,002 entries
 * whose names add up to 400 MB of PAX records. Each name is written once, in time linear in
 * its length (tar-stream on its own tried to split every long name into a ustar prefix one
 * component at a time: minutes for this tree).
 */
describe('exporting a very deep tree', () => {
  it('writes every level of a 20,000-deep entry, streaming', async () => {
    const depth = 20_000;
    const deep = `/${'d/'.repeat(depth)}f`;
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ [deep]: 'deep' })] });
    const x = extract();
    let entries = 0;
    let last = '';
    let content = '';
    x.on('entry', (header, body, next) => {
      entries++;
      last = header.name;
      body.on('data', (c: unknown) => { if (header.type === 'file') content += String(c); });
      body.on('end', next);
    });
    const done = new Promise<void>((resolve, reject) => { x.on('finish', () => resolve()); x.on('error', reject); });
    const { stream, info } = ov.exportTar();
    stream.pipe(x);
    await done;
    expect(entries).toBe(depth + 2); // the root, 20,000 directories, the file
    expect(last).toBe(deep.slice(1));
    expect(content).toBe('deep');
    expect((await info).uncompressedSize).toBeGreaterThan(400e6);
  });
});

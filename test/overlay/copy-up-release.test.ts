import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { collectGarbage as collect } from '../support/collect-garbage.js';

/**
 * A copied-up file removed from the upper layer is freed once nothing can read it, as the
 * kernel frees an unlinked inode at its last close: the overlay remembers each lower object's
 * copy (a read-only descriptor opened on the lower file before the copy-up reads the copy,
 * overlay-state.ts `copies`), but only while such a descriptor is open. The upper inode is
 * watched with a WeakRef.
 */
describe('the copy of a lower file, removed', () => {
  const layers = () => [MemoryLayer.fromJSON({ '/f': 'lower content', '/g': 'other', '/d/x': 'x' })];
  const upperNode = (ov: Overlay, p: string) => new WeakRef(ov.upper._core.getResolvedLink(p)!.getNode());

  it('is freed when no descriptor holds it (unlink, rename over it, rm -r)', async () => {
    const ov = new Overlay({ lower: layers() });
    const refs: Array<WeakRef<object>> = [];
    for (const p of ['/f', '/g', '/d/x']) {
      ov.appendFileSync(p, '+');
      refs.push(upperNode(ov, p));
    }
    ov.unlinkSync('/f');
    ov.writeFileSync('/new', 'n');
    ov.renameSync('/new', '/g');
    ov.rmSync('/d', { recursive: true });
    await collect();
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true]);
  });

  it('is kept while a descriptor opened on the lower file is open, which reads it, and freed after its close', async () => {
    const ov = new Overlay({ lower: layers() });
    const ro = ov.openSync('/f', 'r');
    ov.appendFileSync('/f', '+');
    const ref = upperNode(ov, '/f');
    ov.unlinkSync('/f');
    await collect();
    expect(ref.deref()).toBeDefined();
    expect(String(ov.readFileSync(ro))).toBe('lower content+');
    ov.closeSync(ro);
    await collect();
    expect(ref.deref()).toBeUndefined();
  });
});

describe('a copyFile from a lower file', () => {
  it('holds nothing after it: the source\'s copy, made and removed later, is freed', async () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/f': 'lower content' })] });
    ov.copyFileSync('/f', '/g');
    ov.appendFileSync('/f', '+');
    const ref = new WeakRef(ov.upper._core.getResolvedLink('/f')!.getNode());
    ov.unlinkSync('/f');
    await collect();
    expect(ref.deref()).toBeUndefined();
    expect(String(ov.readFileSync('/g'))).toBe('lower content');
  });
});

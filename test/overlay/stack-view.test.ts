import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { runOnLayerfs } from '../kernel/differential.js';
import { opsArb, stackArb } from '../differential/generate.js';
import { engineOf } from '../../src/fs/overlay-fs.js';

const ov = (...layers: LayerJSON[]) => new Overlay({ lower: layers.map((l, i) => MemoryLayer.fromJSON(l, `L${i}`)) });
const band = (o: Overlay, dir: string, layer: 'upper' | number) => o.stackView(dir).bands.find((b) => b.layer === layer)!;
const cells = (o: Overlay, dir: string, layer: 'upper' | number) => band(o, dir, layer).cells.map((c) => `${c.name}:${c.kind}:${c.role}`);

describe('stackView: the textbook diagram of one directory', () => {
  it('marks the winning version, the merged directories, the shadowed ones and the whiteouts', () => {
    const o = ov({ '/etc/motd': 'L0', '/etc/hosts': 'L0', '/etc/ssl/a': 'a' }, { '/etc/motd': 'L1', '/etc/ssl/b': 'b', '/etc/.wh.hosts': '' });
    expect(o.stackView('/etc').bands.map((b) => b.layer)).toEqual(['upper', 1, 0]);
    // L1 holds /etc/ssl only as the implicit parent of b: L0's explicit entry gives its
    // metadata (wins) and L1's content merges into it.
    expect(cells(o, '/etc', 1)).toEqual(['hosts:whiteout:shadowed', 'motd:file:wins', 'ssl:directory:merged']);
    expect(cells(o, '/etc', 0)).toEqual(['hosts:file:shadowed', 'motd:file:shadowed', 'ssl:directory:wins']);
    expect(band(o, '/etc', 'upper')).toMatchObject({ present: false, cells: [] });

    o.writeFileSync('/etc/motd', 'up'); // copy-up
    o.rmSync('/etc/ssl', { recursive: true }); // whiteouts
    o.mkdirSync('/etc/ssl'); // opaque
    expect(cells(o, '/etc', 'upper')).toEqual(['motd:file:wins', 'ssl:directory:wins']);
    expect(cells(o, '/etc', 1)).toEqual(['hosts:whiteout:shadowed', 'motd:file:shadowed', 'ssl:directory:shadowed']);
    expect(band(o, '/etc/ssl', 'upper')).toMatchObject({ present: true, opaque: true });
    expect(o.stackView('/etc/ssl').bands.slice(1).map((b) => [b.hidden, b.cells.map((c) => c.role)])).toEqual([[true, ['shadowed']], [true, ['shadowed']]]);
    o.unlinkSync('/etc/motd');
    expect(cells(o, '/etc', 'upper')).toEqual(['motd:whiteout:shadowed', 'ssl:directory:wins']);
    expect(o.stackView('/etc').merged.map((m) => `${m.name}:${m.provider}`)).toEqual(['ssl:upper']);
  });

  it('errors like readdir', () => {
    const o = ov({ '/f': 'f' });
    expect(() => o.stackView('/nope')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'scandir', path: '/nope' }));
    expect(() => o.stackView('/f')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it('agrees with readdir, whereIs and the upper layer after random changes', () => {
    fc.assert(fc.property(stackArb(1, 6), opsArb(0, 25), (stack, ops) => {
      const o = ov(...stack);
      for (const op of ops) runOnLayerfs(o, op);
      const dirs = ['/'];
      while (dirs.length > 0) {
        const dir = dirs.pop()!;
        const view = o.stackView(dir);
        expect(view.merged.map((m) => m.name)).toEqual(o.readdirSync(dir));
        for (const m of view.merged) {
          const path = dir === '/' ? `/${m.name}` : `${dir}/${m.name}`;
          const where = o.whereIs(path);
          expect(m.provider).toBe(where.provider);
          // Exactly one band draws the visible version, and it is the provider's.
          const winners = view.bands.filter((b) => b.cells.some((c) => c.name === m.name && c.role === 'wins'));
          expect(winners.map((b) => b.layer)).toEqual([m.provider]);
          // The lower bands agree with whereIs's own per-layer scan: which versions merge into
          // the visible directory, and which are shadowed.
          const lowerRoles = (role: string) => view.bands.filter((b) => b.layer !== 'upper' && b.cells.some((c) => c.name === m.name && c.kind !== 'whiteout' && c.role === role)).map((b) => b.layer);
          expect(lowerRoles('merged')).toEqual(where.mergedFrom.filter((l) => l !== 'upper' && l !== where.provider));
          expect(lowerRoles('shadowed')).toEqual(where.shadowed);
          if (m.type === 'directory') dirs.push(path);
        }
        // The writable band draws the upper layer's directory as a commit would write it.
        const up = view.bands[0]!;
        // (memfs's own readdir checks permissions as a non-root user would: walk its links.)
        let link: { children: Map<string, unknown> } | undefined = engineOf(o).upper.root;
        for (const part of dir.split('/').filter(Boolean)) link = link?.children.get(part) as typeof link;
        expect(up.present).toBe(link !== undefined);
        if (link) {
          const all = [...link.children.keys()].filter((n) => n !== '.' && n !== '..');
          const names = all.filter((n) => n !== '.wh..wh..opq').sort();
          expect(up.cells.map((c) => (c.kind === 'whiteout' ? `.wh.${c.name}` : c.name)).sort()).toEqual(names);
          expect(up.opaque).toBe(names.length !== all.length);
        }
        // Every name a band marks as winning is visible.
        for (const b of view.bands) for (const c of b.cells) if (c.role === 'wins') expect(view.merged.some((m) => m.name === c.name)).toBe(true);
      }
    }), { numRuns: 200 });
  });
});

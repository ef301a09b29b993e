import { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

const ov = (...layers: Parameters<typeof MemoryLayer.fromJSON>[0][]) =>
  new Overlay({ lower: layers.map((l, i) => MemoryLayer.fromJSON(l, `L${i}`)) });

describe('merging the lower stack (OCI layer.md changesets)', () => {
  it("a layer's own entries survive its whiteout and opaque marker", () => {
    const o = ov({ '/d/old': 'o', '/f': 'lower' }, { '/.wh.f': '', '/f': 'mine', '/d/.wh..wh..opq': '', '/d/new': 'n' });
    expect(o.readFileSync('/f', 'utf8')).toBe('mine');
    expect(o.readdirSync('/d')).toEqual(['new']);
  });

  it('a whiteout under a name the same layer makes a file hides nothing more (umoci)', () => {
    const o = ov({ '/a/b': 'b' }, { '/a': 'now a file', '/a/.wh.b': '' });
    expect(o.readFileSync('/a', 'utf8')).toBe('now a file');
  });

  it('an implicit parent keeps the metadata of the directory below (umoci omits unchanged parents)', () => {
    const o = ov({ '/etc': { type: 'directory', mode: 0o750, uid: 5, mtimeMs: 1000 } }, { '/etc/new': 'n' });
    expect(o.statSync('/etc')).toMatchObject({ mode: 0o040750, uid: 5, mtimeMs: 1000 });
    expect(o.readdirSync('/etc')).toEqual(['new']);
  });

  it('a file replaces a directory below and a directory replaces a file, in either order', () => {
    const o = ov({ '/x/y': 'y', '/z': 'z' }, { '/x': 'file now', '/z/w': 'w' }, { '/.wh.x': '', '/x/q': 'q' });
    expect(o.readdirSync('/x')).toEqual(['q']);
    expect(o.readdirSync('/z')).toEqual(['w']);
  });

  it('whiteouts in order: a name deleted and re-added in later layers', () => {
    const o = ov({ '/a': '1' }, { '/.wh.a': '' }, { '/a': '3' }, { '/.wh.a': '' });
    expect(o.existsSync('/a')).toBe(false);
    expect(ov({ '/a': '1' }, { '/.wh.a': '' }, { '/a': '3' }).readFileSync('/a', 'utf8')).toBe('3');
  });

  it('works with 600 layers, and a file of the bottom layer is found through all of them', () => {
    const layers: Record<string, string>[] = [{ '/bottom': 'b', '/shared/0': '0' }];
    for (let i = 1; i < 600; i++) layers.push({ [`/shared/${i}`]: String(i), [`/only${i}`]: 'x' });
    const o = ov(...layers);
    expect(o.readFileSync('/bottom', 'utf8')).toBe('b');
    expect(o.readdirSync('/shared')).toHaveLength(600);
    // Layers above the bottom hold /shared only implicitly: its metadata stays the bottom layer's.
    expect(o.whereIs('/shared')).toMatchObject({ provider: 0, type: 'directory' });
    expect(o.whereIs('/shared').mergedFrom).toHaveLength(600);
  });

  it('one layer object serves many overlays at once, each with its own upper', () => {
    const base = MemoryLayer.fromJSON({ '/etc/hostname': 'base' });
    const a = new Overlay({ lower: [base] });
    const b = new Overlay({ lower: [base] });
    a.writeFileSync('/etc/hostname', 'a');
    b.unlinkSync('/etc/hostname');
    expect(a.readFileSync('/etc/hostname', 'utf8')).toBe('a');
    expect(b.existsSync('/etc/hostname')).toBe(false);
    expect(new Overlay({ lower: [base] }).readFileSync('/etc/hostname', 'utf8')).toBe('base');
  });

  it('a caller-supplied upper Volume takes every write, in OCI changeset form', () => {
    const upper = new Volume();
    const o = new Overlay({ lower: [MemoryLayer.fromJSON({ '/a/b': 'b', '/c': 'c' })], upper });
    o.unlinkSync('/c');
    o.writeFileSync('/a/new', 'n');
    expect(upper.toJSON()).toEqual({ '/.wh.c': '', '/a/new': 'n' });
    // ...and a Volume in that form is itself a layer: the changeset round-trips.
    const again = new Overlay({ lower: [MemoryLayer.fromJSON({ '/a/b': 'b', '/c': 'c' }), MemoryLayer.fromVolume(upper)] });
    expect(again.readdirSync('/')).toEqual(['a']);
    expect(again.readdirSync('/a')).toEqual(['b', 'new']);
  });
});

describe('provenance and events', () => {
  it('whereIs names the providing layer, the shadowed versions and the whiteouts', () => {
    const o = ov({ '/f': '0', '/g': '0' }, { '/f': '1' }, { '/.wh.g': '' });
    expect(o.whereIs('/f')).toMatchObject({ provider: 1, type: 'file', shadowed: [0] });
    expect(o.whereIs('/g')).toMatchObject({ shadowed: [0], hiddenBy: [{ layer: 2, kind: 'whiteout' }] });
    expect(o.whereIs('/g').provider).toBeUndefined();
    o.writeFileSync('/f', 'up');
    expect(o.whereIs('/f')).toMatchObject({ provider: 'upper', shadowed: [1, 0] });
    o.unlinkSync('/f');
    expect(o.whereIs('/f').hiddenBy).toEqual([{ layer: 'upper', kind: 'whiteout' }]);
  });

  it('emits copy-up parents first, then whiteout and opaque events', () => {
    const o = ov({ '/a/b/c': 'c', '/a/b/d': 'd' });
    const seen: string[] = [];
    o.on('copy-up', (e) => seen.push(`copy-up ${e.path} ${e.entryType} L${e.fromLayer}`));
    o.on('whiteout', (e) => seen.push(`whiteout ${e.path}`));
    o.on('opaque', (e) => seen.push(`opaque ${e.path}`));
    o.appendFileSync('/a/b/c', '!');
    o.rmSync('/a/b', { recursive: true });
    o.mkdirSync('/a/b');
    expect(seen).toEqual([
      'copy-up /a directory L0', 'copy-up /a/b directory L0', 'copy-up /a/b/c file L0',
      'whiteout /a/b/c', 'whiteout /a/b/d', 'whiteout /a/b', 'opaque /a/b',
    ]);
  });

  it('redirect_dir: a renamed merged directory keeps merging with its lower path, also when moved twice', () => {
    const o = new Overlay({ lower: [MemoryLayer.fromJSON({ '/a/d/x': 'x' }), MemoryLayer.fromJSON({ '/a/d/y': 'y' })], redirectDir: true });
    o.renameSync('/a/d', '/e');
    o.renameSync('/e', '/f');
    expect(o.readdirSync('/f')).toEqual(['x', 'y']);
    expect(o.readdirSync('/a')).toEqual([]);
    expect(o.whereIs('/f/x')).toMatchObject({ provider: 0 });
    // Copied up, the file still shadows its version under the old lower path.
    o.appendFileSync('/f/x', '!');
    expect(o.whereIs('/f/x')).toMatchObject({ provider: 'upper', shadowed: [0] });
    expect(o.whereIs('/f/x').versions).toEqual([{ layer: 'upper', kind: 'entry', type: 'file' }, { layer: 0, kind: 'entry', type: 'file' }]);
  });
});

import { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { LayerBuilder, LayerError, MemoryLayer, Overlay } from '../../src/index.js';

describe('LayerBuilder / MemoryLayer', () => {
  it('reads OCI whiteout names as whiteouts and opaque markers, not entries', () => {
    const l = MemoryLayer.fromJSON({ '/a/.wh.b': '', '/c/.wh..wh..opq': '', '/c/d': 'd' });
    expect([...l.whiteouts]).toEqual(['/a/b']);
    expect([...l.opaqueDirs]).toEqual(['/c']);
    expect([...l.entries.keys()]).toEqual(['/', '/a', '/c', '/c/d']);
  });

  it('adds implicit parents, marked so that they keep lower metadata', () => {
    const l = MemoryLayer.fromJSON({ '/x/y/z': 'z' });
    expect(l.entries.get('/x')).toMatchObject({ type: 'directory', implicit: true });
    expect(l.entries.get('/x/y/z')).toMatchObject({ type: 'file', implicit: false, size: 1 });
  });

  it('resolves hard links to earlier and later entries; names share inode and count links', () => {
    const b = new LayerBuilder('t');
    b.addHardLink('/early', '/target');
    b.add('/target', { type: 'file', content: 'data', mode: 0o600 });
    b.addHardLink('/late', '/early');
    const l = MemoryLayer.fromBuilder(b);
    const [e, t, late] = ['/early', '/target', '/late'].map((p) => l.entries.get(p)!);
    expect(e!.inode).toBe(t!.inode);
    expect(late!.inode).toBe(t!.inode);
    expect(t!.nlink).toBe(3);
    expect(l.read(e!).toString()).toBe('data');
    expect(e!.mode).toBe(0o600);
  });

  it('directory link counts are 2 + subdirectories', () => {
    const l = MemoryLayer.fromJSON({ '/d/a/': null, '/d/b': null, '/d/f': 'f' });
    expect(l.entries.get('/d')!.nlink).toBe(4);
  });

  it('rejects hard links to missing entries, to directories, and cycles with a typed error', () => {
    // A target outside the layer may be a file of the layers below: refused when stacked on nothing there.
    const missing = MemoryLayer.fromJSON({ '/a': { type: 'hardlink', target: '/missing' } }, 'L');
    expect([...missing.lowerLinks]).toEqual([['/a', '/missing']]);
    expect(() => new Overlay({ lower: [missing] })).toThrow(LayerError);
    expect(() => new Overlay({ lower: [missing] })).toThrow('layer L: /a: hard link to missing entry /missing (neither in this layer nor in the layers below it)');
    expect(() => MemoryLayer.fromJSON({ '/d': null, '/a': { type: 'hardlink', target: '/d' } })).toThrow(/hard link to directory/);
    expect(() => MemoryLayer.fromJSON({ '/a': { type: 'hardlink', target: '/b' }, '/b': { type: 'hardlink', target: '/a' } })).toThrow(/cycle/);
    expect(() => MemoryLayer.fromJSON({ '/l': { type: 'symlink' } })).toThrow(/symlink without a target/);
  });

  it('normalises names so nothing lands outside the root', () => {
    const l = MemoryLayer.fromJSON({ '../../etc/x': 'x', '/a/../b': 'b' });
    expect([...l.entries.keys()].sort()).toEqual(['/', '/b', '/etc', '/etc/x']);
  });

  it('fromVolume keeps modes, owners, times, symlinks, hard links and whiteouts', () => {
    const vol = Volume.fromJSON({ '/etc/passwd': 'root', '/etc/.wh.shadow': '', '/usr/.wh..wh..opq': '' });
    vol.chmodSync('/etc/passwd', 0o600);
    vol.chownSync('/etc/passwd', 3, 4);
    vol.utimesSync('/etc/passwd', 100, 200);
    vol.symlinkSync('passwd', '/etc/pw');
    vol.linkSync('/etc/passwd', '/etc/passwd-');
    const l = MemoryLayer.fromVolume(vol);
    expect(l.entries.get('/etc/passwd')).toMatchObject({ mode: 0o600, uid: 3, gid: 4, mtimeMs: 200_000, nlink: 2 });
    expect(l.entries.get('/etc/passwd-')!.inode).toBe(l.entries.get('/etc/passwd')!.inode);
    expect(l.entries.get('/etc/pw')).toMatchObject({ type: 'symlink', linkTarget: 'passwd' });
    expect([...l.whiteouts]).toEqual(['/etc/shadow']);
    expect([...l.opaqueDirs]).toEqual(['/usr']);
  });
});

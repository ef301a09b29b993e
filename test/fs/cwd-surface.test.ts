import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { scratch } from '../support/scratch.js';

/**
 * issue 15's calls that make a relative path absolute as text (cp's checks and its copies of
 * relative symlinks, watchFile's one watcher per file) resolve it against the overlay's `cwd`,
 * as Node's resolve against process.cwd(): compared with Node run in a process started in
 * the same directory of a real tree.
 */

const dirs = scratch('lfs-cwd-surface-');

const layer = () => MemoryLayer.fromJSON({ '/work/src/a': 'A', '/work/src/l': { type: 'symlink', linkTarget: 'a' }, '/work/w': 'watched', '/w': 'the root w' });

describe('relative paths in cp and watchFile start at the cwd option', () => {
  it('cpSync and promises.cp copy a relative symlink as Node does from that directory', async () => {
    const root = dirs.fresh('t');
    fs.mkdirSync(`${root}/src`);
    fs.writeFileSync(`${root}/src/a`, 'A');
    fs.symlinkSync('a', `${root}/src/l`);
    execFileSync(process.execPath, ['-e', "const fs = require('fs'); fs.cpSync('src', 'dst', { recursive: true }); fs.promises.cp('src', 'dst2', { recursive: true })"], { cwd: root });
    const nodeSays = (p: string) => fs.readlinkSync(`${root}/${p}`).split(root).join('/work');
    const ov = new Overlay({ cwd: '/work', lower: [layer()] });
    ov.cpSync('src', 'dst', { recursive: true });
    await ov.promises.cp('src', 'dst2', { recursive: true });
    expect([ov.readlinkSync('/work/dst/l'), ov.readlinkSync('/work/dst2/l')]).toEqual([nodeSays('dst/l'), nodeSays('dst2/l')]);
    expect(String(ov.readFileSync('/work/dst/l'))).toBe('A');
  });

  it('cpSync of a directory into its own subtree, given once relative and once absolute, is ERR_FS_CP_EINVAL', () => {
    const ov = new Overlay({ cwd: '/work', lower: [layer()] });
    expect(() => ov.cpSync('/work/src', 'src/sub', { recursive: true })).toThrow(expect.objectContaining({ code: 'ERR_FS_CP_EINVAL' }));
    expect(() => ov.cpSync('src', '/work/src/sub', { recursive: true })).toThrow(expect.objectContaining({ code: 'ERR_FS_CP_EINVAL' }));
  });

  it('watchFile of a relative name polls the file below the cwd', async () => {
    const ov = new Overlay({ cwd: '/work', lower: [layer()] });
    const seen: number[] = [];
    ov.fs.watchFile('w', { interval: 10 }, (curr) => seen.push(curr.size));
    await new Promise((r) => setTimeout(r, 40));
    ov.writeFileSync('/w', 'the root w, changed');
    ov.writeFileSync('/work/w', 'changed');
    await new Promise((r) => setTimeout(r, 80));
    ov.fs.unwatchFile('w');
    expect(seen).toEqual([7]);
  });
});

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { afterAll, describe, expect, it } from 'vitest';
import { demoAndExport, scratch } from './export-demo.js';

/**
 * isomorphic-git handed `ov.fs`: a repository made, committed to and inspected inside the
 * overlay of the bundled image; exported with exportDir, the real `git` reads the same history
 * and the same status.
 */
const work = scratch('git');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const author = { name: 'Layer Fs', email: 'layerfs@example.org', timestamp: 1_700_000_000, timezoneOffset: 0 };
const realGit = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', `safe.directory=${dir}`, '-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: work } });

describe('isomorphic-git on ov.fs', () => {
  it('init, add, commit, log and status inside the overlay; the real git agrees on the export', async () => {
    const { ov } = await demoAndExport(work);
    const fs_ = ov.fs;
    const dir = '/srv/repo';
    ov.mkdirSync(dir, { recursive: true });
    await git.init({ fs: fs_, dir, defaultBranch: 'main' });
    // Files from the image's layers, copied into the work tree through the overlay.
    ov.copyFileSync('/etc/os-release', `${dir}/os-release`);
    ov.mkdirSync(`${dir}/docs`);
    ov.writeFileSync(`${dir}/docs/README`, ov.readFileSync('/usr/share/doc/demo/README'));
    ov.symlinkSync('os-release', `${dir}/link`);
    await git.add({ fs: fs_, dir, filepath: '.' });
    const first = await git.commit({ fs: fs_, dir, message: 'first: files of the image', author });
    ov.appendFileSync(`${dir}/docs/README`, 'More.\n');
    await git.add({ fs: fs_, dir, filepath: 'docs/README' });
    const second = await git.commit({ fs: fs_, dir, message: 'second: README grows', author });

    const log = await git.log({ fs: fs_, dir });
    expect(log.map((c) => [c.oid, c.commit.message.trim()])).toEqual([[second, 'second: README grows'], [first, 'first: files of the image']]);
    expect(await git.status({ fs: fs_, dir, filepath: 'docs/README' })).toBe('unmodified');

    // A change after the commit, and a new file: what status sees.
    ov.writeFileSync(`${dir}/os-release`, 'changed\n');
    ov.writeFileSync(`${dir}/untracked`, 'new\n');
    const matrix = await git.statusMatrix({ fs: fs_, dir });
    expect(matrix).toEqual([
      ['docs/README', 1, 1, 1],
      ['link', 1, 1, 1],
      ['os-release', 1, 2, 1],
      ['untracked', 0, 2, 0],
    ]);
    expect(fs.existsSync('/srv/repo/.git')).toBe(false); // nothing of it on the host

    const out = fs.mkdtempSync(join(work, 'export-'));
    await ov.exportDir(out, { allowNonEmpty: true });
    const repo = join(out, 'srv/repo');
    expect(realGit(repo, 'log', '--format=%H %s').trim().split('\n')).toEqual([`${second} second: README grows`, `${first} first: files of the image`]);
    expect(realGit(repo, 'status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual([' M os-release', '?? untracked']);
    expect(realGit(repo, 'fsck', '--strict').trim()).toBe('');
    expect(realGit(repo, 'show', `${first}:link`)).toBe('os-release');
    expect(realGit(repo, 'ls-tree', '-r', first).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(['100644', '120000', '100644']); // (git keeps only 644/755 for files)
    // And back: the real git's view of the committed README is the overlay's.
    expect(realGit(repo, 'show', 'HEAD:docs/README')).toBe(ov.readFileSync(`${dir}/docs/README`, 'utf8'));
  }, 60_000);
});

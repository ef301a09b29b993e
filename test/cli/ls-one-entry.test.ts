import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { MemoryLayer } from '../../src/index.js';
import { layerToTar } from '../support/to-tar.js';
import { writeOciLayout } from '../support/oci-layout.js';

/**
 * `ls IMAGE PATH` where PATH is not a directory lists that one entry, as GNU `ls -l PATH` does
 * (it said "not a directory"); checked against GNU ls on the image exported to a directory.
 */
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-ls-one-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const image = join(work, 'image');
writeOciLayout(image, [await layerToTar(MemoryLayer.fromJSON({
  '/bin/busybox': 'elf',
  '/bin/cat': { type: 'symlink', linkTarget: 'busybox' },
  '/etc/motd': 'hello\n',
  '/etc/group': 'root:x:0:\n',
  '/etc-link': { type: 'symlink', linkTarget: 'etc' },
  '/dangling': { type: 'symlink', linkTarget: '/nowhere' },
  '/loop': { type: 'symlink', linkTarget: 'loop' },
}, 'L0'))]);

/** `layerfs ARGS` run in this process: exit status, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t.toString()), stderr: (t) => void (stderr += t), stderrIsTTY: false, color: false });
  return { code, stdout, stderr };
}

/** GNU `ls -l PATH` in `root`: whether it listed, and the name of each entry it prints. */
function gnuLs(root: string, path: string): { ok: boolean; names: string[] } {
  const r = spawnSync('ls', ['-l', '--quoting-style=literal', path], { cwd: root, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { ok: r.status === 0, names: r.stdout.split('\n').filter((l) => l && !l.startsWith('total ')).map((l) => l.split(/\s+/).slice(8).join(' ')) };
}

describe('ls PATH that is not a directory', () => {
  it('lists the one entry GNU ls -l lists, named as given; a directory lists its entries; a trailing slash asks for a directory', async () => {
    const root = join(work, 'rootfs');
    expect((await cli('export', image, '--dir', root)).code).toBe(0);
    // GNU ls -l lists a symlink to a directory as the link; layerfs ls lists the directory, as plain ls does.
    for (const path of ['bin/cat', 'bin/busybox', '/etc/motd', 'dangling', 'loop', 'etc', 'bin', 'bin/cat/', 'etc/motd/']) {
      const ours = await cli('ls', image, path);
      const gnu = gnuLs(root, path.replace(/^\//, ''));
      expect(ours.code === 0, `${path}: ${ours.stderr}`).toBe(gnu.ok);
      const names = ours.stdout.trimEnd().split('\n').slice(1).filter(Boolean).map((row) => row.split(/\s+/).slice(4).join(' '));
      // GNU ls names the entry as given; a leading / is dropped there only because it ran inside the rootfs.
      expect(names, path).toEqual(path.startsWith('/') ? gnu.names.map((n) => `/${n}`) : gnu.names);
    }
    expect((await cli('ls', image, 'bin/cat/')).stderr).toBe('layerfs: /bin/cat/: not a directory\n');
    expect(JSON.parse((await cli('ls', image, 'bin/cat', '--json')).stdout)).toEqual([expect.objectContaining({ name: 'bin/cat', path: '/bin/cat', type: 'symlink', target: 'busybox' })]);
    expect((await cli('ls', image, 'etc-link')).stdout).toBe((await cli('ls', image, 'etc')).stdout);
  });
});

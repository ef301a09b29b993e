import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, cliInScratch, runCli } from '../support/cli-binary.js';
import { multiPlatformLayout } from '../support/cli-images.js';

/**
 * A review of the command line (issue 16) as a demanding Unix user tries it: what GNU tar,
 * cat and skopeo do in the same place is the reference. Each test here failed on main 28de551.
 */
const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO = join(REPO, 'images/demo');
const { work, layerfs, built } = cliInScratch('lfs-cli-review-');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** The program with its stdout sent to `target` (a file or device), stderr captured. */
const layerfsTo = (target: string, ...args: string[]) => {
  const fd = fs.openSync(target, 'w');
  try {
    const r = spawnSync(process.execPath, [built().bin, ...args], { cwd: work, env: cliEnv(), stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
    return { code: r.status, stderr: r.stderr };
  } finally {
    fs.closeSync(fd);
  }
};

beforeAll(() => {
  // An OCI archive of the demo, as skopeo writes one.
  execFileSync('skopeo', ['copy', `oci:${DEMO}:latest`, `oci-archive:${join(work, 'demo.tar')}:latest`], { stdio: 'ignore' });
}, 120_000);

describe('export --tar never destroys its own input', () => {
  it('export ARCHIVE --tar ARCHIVE is refused and the archive is left as it was (GNU tar: "file is the archive; not dumped")', () => {
    const archive = join(work, 'self.tar');
    fs.copyFileSync(join(work, 'demo.tar'), archive);
    const before = sha(fs.readFileSync(archive));
    const r = layerfs('export', archive, '--tar', archive);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^layerfs: .*self\.tar.*\n$/);
    expect(sha(fs.readFileSync(archive))).toBe(before);
    expect(layerfs('ls', archive).code).toBe(0);
  });
});

describe('a write error on stdout is one line and exit 1, as cat reports it', () => {
  it.each([
    ['cat', ['cat', DEMO, '/bin/busybox']],
    ['export --tar -', ['export', DEMO, '--tar', '-']],
    ['tree', ['tree', DEMO]],
    ['inspect --json', ['inspect', DEMO, '--json']],
  ])('%s > /dev/full: no stack trace', (_name, args) => {
    const r = layerfsTo('/dev/full', ...args);
    expect(r.stderr).not.toMatch(/\n\s+at |node:internal|Node\.js v/);
    expect(r.stderr).toMatch(/^layerfs: .*(ENOSPC|no space left)[^\n]*\n$/i);
    expect(r.code).toBe(1);
  });

  it('--tar FILE that cannot be written names FILE (GNU tar: "FILE: Cannot write: No space left on device")', () => {
    const r = layerfs('export', DEMO, '--tar', '/dev/full');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^layerfs: \/dev\/full: .*\n$/);
  });

  it('--tar FILE on a file system that fills up leaves no truncated tar behind', () => {
    const mnt = join(work, 'small');
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    try {
      const r = layerfs('export', DEMO, '--tar', join(mnt, 'rootfs.tar'));
      expect(r.code).toBe(1);
      expect(fs.readdirSync(mnt)).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('export --tar - on a terminal', () => {
  it('is refused as GNU tar refuses ("Refusing to write archive contents to terminal"), writing nothing', () => {
    // script(1) gives the program a pty on stdout; -e passes its exit status on.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${built().bin} export ${DEMO} --tar -`, '/dev/null'], { encoding: 'latin1', cwd: work, env: cliEnv() });
    expect(r.stdout).not.toContain('ustar');
    expect(r.status).not.toBe(0);
  });
});

describe('commit under SOURCE_DATE_EPOCH', () => {
  const commit = (out: string, epoch: string) => {
    const changes = join(work, 'changes.json');
    fs.writeFileSync(changes, JSON.stringify([['writeFile', '/etc/motd', 'hi'], ['mkdir', '/srv/new']]));
    const r = runCli(built().bin, ['commit', DEMO, '--changes', changes, '--out', join(work, out), '--json'], { cwd: work, env: { SOURCE_DATE_EPOCH: epoch } });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).manifest.digest as string;
  };

  it('an epoch in the past gives the same digests twice; one later than now clamps nothing (docs/cli.md says so)', async () => {
    const a = commit('past-a', '1700000000');
    await new Promise((r) => setTimeout(r, 1100));
    expect(commit('past-b', '1700000000')).toBe(a);
    // The specification clamps: a file made "now" keeps its time under a future epoch.
    const f = commit('future-a', '4102444800');
    await new Promise((r) => setTimeout(r, 1100));
    expect(commit('future-b', '4102444800')).not.toBe(f);
  });

  it('an empty --source-date-epoch is a usage error, not a silent fall back to the clock', () => {
    const changes = join(work, 'changes.json');
    fs.writeFileSync(changes, '[]');
    const r = layerfs('commit', DEMO, '--changes', changes, '--out', join(work, 'empty-epoch'), '--source-date-epoch=');
    expect(r.code).toBe(2);
  });
});

describe('commit --changes: a malformed change is told as a change, not as a TypeError', () => {
  it.each([['[null]'], ['[5]'], ['["writeFile"]']])('%s', (text) => {
    const changes = join(work, 'bad-change.json');
    fs.writeFileSync(changes, text);
    const r = layerfs('commit', DEMO, '--changes', changes, '--out', join(work, 'bad-change-out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^layerfs: change 1: /);
    expect(r.stderr).not.toMatch(/Cannot read properties|unknown call (undefined|"w")/);
  });

  it.each([['constructor'], ['toString'], ['hasOwnProperty']])('[["%s"]]: an Object.prototype member is an unknown call, not a silent no-op that commits', (name) => {
    const changes = join(work, 'proto-change.json');
    fs.writeFileSync(changes, JSON.stringify([[name]]));
    const out = join(work, `proto-out-${name}`);
    const r = layerfs('commit', DEMO, '--changes', changes, '--out', out);
    expect(r.stderr).toMatch(new RegExp(`^layerfs: change 1: unknown call "${name}"`));
    expect(r.code).toBe(1);
  });
});

describe('--platform: the warning about a one-platform image is not given for an index of several', () => {
  it('linux/arm/v6 picks the arm/v6 manifest of a multi-platform index without saying "it holds no other platform"', () => {
    // An index whose arm/v6 entry has a config without a variant (config.md: variant is optional).
    const dir = join(work, 'multi-v6');
    multiPlatformLayout(DEMO, dir, ['linux/amd64', 'linux/arm']);
    const top = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
    const listDesc = top.manifests[1];
    const list = JSON.parse(fs.readFileSync(join(dir, 'blobs/sha256', listDesc.digest.slice(7)), 'utf8'));
    list.manifests[1].platform.variant = 'v6';
    const text = JSON.stringify(list);
    fs.writeFileSync(join(dir, 'blobs/sha256', sha(text)), text);
    top.manifests[1] = { ...listDesc, digest: `sha256:${sha(text)}`, size: Buffer.byteLength(text) };
    fs.writeFileSync(join(dir, 'index.json'), JSON.stringify(top));
    const r = layerfs('inspect', `${dir}:multi`, '--platform', 'linux/arm/v6', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).digest).toBe(list.manifests[1].digest);
    expect(r.stderr).not.toMatch(/holds no other platform/);
  });
});

describe('permission denied is told as such, naming what cannot be read', () => {
  const asNobody = (...args: string[]) => {
    const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, built().bin, ...args], { encoding: 'utf8', cwd: '/', env: cliEnv() });
    return { code: r.status, stderr: r.stderr };
  };
  const readableCopy = (name: string) => {
    const dir = join(work, name);
    fs.cpSync(DEMO, dir, { recursive: true });
    fs.chmodSync(work, 0o755);
    fs.chmodSync(built().pkg, 0o755); // mkdtemp made it 0700: nobody could not run the program
    return dir;
  };

  it('an unreadable layer blob is named by its digest, not as /proc/self/fd/N', () => {
    const dir = readableCopy('unreadable-layer');
    const layer = '5043c0f0d561b87679ddb440214a2f6a0b2bcb010d3a5d32dd4f3863857e3781';
    fs.chmodSync(join(dir, 'blobs/sha256', layer), 0o600);
    const r = asNobody('ls', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(layer.slice(0, 12));
    expect(r.stderr).not.toContain('/proc/self/fd');
  });

  it('an unreadable image directory is "permission denied", not "neither an OCI image layout nor ..."', () => {
    const dir = readableCopy('unreadable-dir');
    fs.chmodSync(dir, 0o700);
    const r = asNobody('ls', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EACCES|permission denied/i);
    expect(r.stderr).not.toMatch(/neither an OCI image layout/);
  });
});

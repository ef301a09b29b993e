import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { verbNamed } from '../../src/cli/registry.js';
import type { Verb } from '../../src/cli/verb.js';
import { writeOciLayout } from '../support/oci-layout.js';
import { packTar, type PackEntry } from '../support/to-tar.js';

/**
 * The verbs that read no file content (ls, tree, why, stat, diff, analyze, inspect --changes)
 * open IMAGE index-only (content: 'none'): their output must be byte for byte what the same
 * verb gives over the image opened with its content, on the bundled image and on a
 * generated one with what layers hold (whiteouts, an opaque directory, hard links, symlinks,
 * devices, a fifo, xattrs, setuid files, files large enough to spill).
 */
const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO = join(REPO, 'images/demo');
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-index-only-cli-'));
const GEN = join(work, 'generated');
const INDEX_ONLY = ['ls', 'tree', 'why', 'stat', 'diff', 'analyze', 'inspect'];

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t.toString('latin1')), stderr: (t) => void (stderr += t), stderrIsTTY: false, color: false });
  return { code, stdout, stderr };
}

/** The same command with the verb opening IMAGE with its content, as every verb did before. */
async function runWithContent(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const verb = (await verbNamed(args[0]!)) as Verb & { content?: 'none' };
  const content = verb.content;
  delete verb.content;
  try {
    return await run(...args);
  } finally {
    if (content !== undefined) verb.content = content;
  }
}

const file = (name: string, body: string | Buffer, header: Partial<PackEntry['header']> = {}): PackEntry => ({ header: { name, mode: 0o644, mtime: new Date(1_700_000_000_000), ...header }, body });
const dirEntry = (name: string, mode = 0o755): PackEntry => ({ header: { name, type: 'directory', mode, mtime: new Date(1_700_000_000_000) } });

/** Bytes that do not compress away, so a gzip layer really holds megabytes. */
function noise(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

beforeAll(async () => {
  const base = await packTar([
    dirEntry('bin/'), file('bin/tool', noise(5 * 2 ** 20, 1), { mode: 0o4755 }), file('bin/tool.hard', '', { type: 'link', linkname: 'bin/tool' }),
    { header: { name: 'bin/sh', type: 'symlink', linkname: 'tool' } },
    dirEntry('dev/'), { header: { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 } },
    { header: { name: 'dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0, gid: 6 } },
    { header: { name: 'run/fifo', type: 'fifo', mode: 0o600 } },
    dirEntry('etc/'), file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n'), file('etc/gone', 'deleted above\n'),
    dirEntry('usr/share/doc/'), file('usr/share/doc/old', 'hidden by an opaque dir\n'),
    file('etc/caps', 'x', { pax: { 'SCHILY.xattr.security.capability': 'caps', 'SCHILY.xattr.user.note': 'kept' } }),
    dirEntry('tmp/', 0o1777),
  ]);
  const middle = await packTar([
    file('etc/.wh.gone', ''), file('etc/passwd', 'root:x:0:0::/root:/bin/bash\n', { uid: 0, gid: 0 }),
    file('usr/share/doc/.wh..wh..opq', ''), file('usr/share/doc/new', 'only me\n'),
    file('opt/big.bin', noise(6 * 2 ** 20, 2)), file('opt/big.link', '', { type: 'link', linkname: 'opt/big.bin' }),
  ]);
  const top = await packTar([
    file('etc/motd', 'hello\n', { mode: 0o600, uid: 1000, gid: 1000 }), file('opt/.wh.big.link', ''),
    file('bin/sh', 'now a file\n'), dirEntry('srv/data/'), file('srv/data/x', noise(100_000, 3)),
  ]);
  writeOciLayout(GEN, [gzipSync(base), gzipSync(middle), top], ['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar']);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const commands = (img: string, paths: string[]): string[][] => [
  ['ls', img], ['ls', img, '/', '--json'], ...paths.flatMap((p) => [['ls', img, p], ['stat', img, p], ['stat', img, p, '--json'], ['why', img, p], ['why', img, p, '--json']]),
  ['tree', img], ['tree', img, '/', '--layers'], ['tree', img, '--json'],
  ['diff', img], ['diff', img, '--json'], ['analyze', img], ['analyze', img, '--ci', '--json'],
  ['inspect', img, '--changes'], ['inspect', img, '--changes', '--json'],
  ['stat', img, '/no/such'], ['why', img, '/no/such'], ['ls', img, '/etc/passwd'],
];

describe('the verbs that read no content give the same output index-only', () => {
  it('they are the ones opened index-only; cat, export, commit, serve and demo keep content', async () => {
    for (const name of ['ls', 'tree', 'why', 'cat', 'stat', 'diff', 'analyze', 'export', 'commit', 'serve', 'demo', 'inspect']) {
      expect([name, (await verbNamed(name))!.content]).toEqual([name, INDEX_ONLY.includes(name) ? 'none' : undefined]);
    }
  });

  it.each([
    ['the bundled image', DEMO, ['/', '/etc', '/etc/motd', '/var/cache/demo/a', '/usr/share/doc/demo', '/bin/busybox.hardlink', '/bin/sh']],
    ['a generated image', GEN, ['/', '/etc', '/etc/gone', '/etc/caps', '/usr/share/doc', '/usr/share/doc/old', '/bin/tool.hard', '/bin/sh', '/dev', '/run/fifo', '/opt', '/opt/big.link', '/srv/data/x']],
  ])('%s: byte for byte', async (_label, img, paths) => {
    let compared = 0;
    for (const args of commands(img, paths)) {
      const got = await run(...args);
      expect({ args, ...got }).toEqual({ args, ...(await runWithContent(...args)) });
      compared++;
    }
    expect(compared).toBeGreaterThan(40);
  }, 120_000);

  it('without a usable temporary directory: they run (no spill file), cat of a spilled file cannot', async () => {
    // A kept gzip layer past memoryBytes (4 MiB) spills to os.tmpdir(); an index-only one keeps nothing.
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = join(work, 'no-such-dir');
    try {
      for (const args of [['ls', GEN, '/opt'], ['tree', GEN], ['why', GEN, '/bin/tool'], ['stat', GEN, '/opt/big.bin'], ['diff', GEN], ['analyze', GEN], ['inspect', GEN, '--changes']]) {
        const r = await run(...args);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
      }
      const cat = await run('cat', GEN, '/opt/big.bin');
      expect(cat.code).toBe(1);
      expect(cat.stderr).toMatch(/spill file in .*no-such-dir/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(await run('stat', GEN, '/opt/big.bin')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^size +6291456$/m) });
  });
});

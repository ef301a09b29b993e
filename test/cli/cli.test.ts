import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openImage } from '../../src/index.js';
import { bundlePage } from '../../src/serve/bundle-page.js';
import { bundleForNode } from '../support/node-bundle.js';

const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-cli-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function run(argv: string[], opts: { tty?: boolean; color?: boolean; signal?: AbortSignal; onStdout?: (text: string) => void } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => {
      const text = Buffer.isBuffer(t) ? t.toString('utf8') : t;
      stdout += text;
      opts.onStdout?.(text);
    },
    stderr: (t) => void (stderr += t),
    stderrIsTTY: opts.tty ?? false,
    color: opts.color ?? false,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { code, stdout, stderr };
}
const ESC = '\u001b[';

describe('layerfs CLI on the bundled image', () => {
  it('--help lists every verb; each verb has --help', async () => {
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    for (const v of ['inspect', 'tree', 'ls', 'why', 'cat', 'stat', 'diff', 'analyze', 'export', 'commit', 'demo', 'serve']) {
      expect(h.stdout).toContain(`  ${v} `);
      const vh = await run([v, '--help']);
      expect(vh.code, v).toBe(0);
      expect(vh.stdout).toMatch(new RegExp(`^usage: layerfs ${v}`));
    }
  });

  it('inspect: a layer table, and --json with manifest, config and per-layer counts', async () => {
    const t = await run(['inspect', DEMO]);
    expect(t.stdout).toMatch(/L3\s+5043c0f0d561\s+462 B\s+6\s+0\s+5\s+1\s+docs: replace/);
    const j = JSON.parse((await run(['inspect', DEMO, '--json'])).stdout);
    expect(j.format).toBe('oci-layout');
    expect(j.config.config.Cmd).toEqual(['/bin/sh']);
    expect(j.layers).toHaveLength(4);
    expect(j.layers[1]).toMatchObject({ index: 1, added: 1, changed: 3, deleted: 1 });
    expect(Object.keys(j.layers[0]).sort()).toEqual(['added', 'changed', 'createdBy', 'deleted', 'diffId', 'digest', 'entries', 'index', 'mediaType', 'size']);
  });

  it('tree --layers marks providers, shadowed versions, opaque dirs and whiteouts', async () => {
    const t = await run(['tree', DEMO, '/usr/share/doc', '--layers']);
    expect(t.stdout).toContain('demo/  [L3] shadows L0 opaque');
    const v = await run(['tree', DEMO, '/var', '--layers']);
    expect(v.stdout).toMatch(/- a \(whiteout in L1\)/);
    const j = JSON.parse((await run(['tree', DEMO, '/etc', '--json'])).stdout);
    expect(j.children.map((c: { path: string; layer: string }) => [c.path, c.layer])).toEqual([
      ['/etc/group', 'L0'], ['/etc/motd', 'L1'], ['/etc/os-release', 'L2'], ['/etc/passwd', 'L1'],
    ]);
  });

  it('why, ls, cat, stat', async () => {
    expect((await run(['why', DEMO, '/etc/os-release'])).stdout).toMatch(/L2\s+file\s+wins: the topmost version\n\s+L0\s+file\s+shadowed/);
    expect(JSON.parse((await run(['why', DEMO, '/var/cache/demo/a', '--json'])).stdout)).toMatchObject({ shadowed: [0], hiddenBy: [{ layer: 1, kind: 'whiteout' }] });
    expect((await run(['ls', DEMO, '/opt'])).stdout).toMatch(/755\s+0:0\s+41\s+L2>L0\s+app/);
    expect((await run(['cat', DEMO, '/etc/motd'])).stdout).toBe('welcome to the layerfs demo\n');
    expect(JSON.parse((await run(['stat', DEMO, '/bin/sh', '--json'])).stdout)).toMatchObject({ type: 'symlink', target: 'busybox', layer: 0 });
  });

  it('diff lists each layer with A/C/D/O lines', async () => {
    const d = await run(['diff', DEMO]);
    expect(d.stdout).toContain('  D /var/cache/demo/a');
    expect(d.stdout).toContain('  O /usr/share/doc/demo');
    expect(d.stdout).toContain('  C /etc/os-release  (28 B)');
    const j = JSON.parse((await run(['diff', DEMO, '--json'])).stdout);
    expect(j[2].changes.map((c: { kind: string; path: string }) => `${c.kind} ${c.path}`)).toEqual(['changed /etc/os-release', 'changed /opt', 'changed /opt/app', 'deleted /opt/app/run']);
  });

  it('analyze: wasted bytes, efficiency, and --ci --threshold for pipelines', async () => {
    const j = JSON.parse((await run(['analyze', DEMO, '--json'])).stdout);
    expect(j.wastedBytes).toBe(30 + 28 + 27 + 22 + 18 + 9);
    expect(j.wasted.find((w: { path: string }) => w.path === '/var/cache/demo/a')).toMatchObject({ layer: 0, reason: 'deleted', size: 9 });
    expect((await run(['analyze', DEMO, '--ci', '--threshold', '0.9'])).code).toBe(0);
    const fail = await run(['analyze', DEMO, '--ci', '--threshold', '0.99999']);
    expect(fail.code).toBe(1);
    expect(fail.stderr).toMatch(/^layerfs: efficiency .* is below the threshold 0.99999\n$/);
    expect((await run(['analyze', DEMO, '--threshold', 'x'])).code).toBe(2);
  });

  it('export --tar and --dir write the merged rootfs; progress only on a terminal', async () => {
    const tar = join(work, 'root.tar');
    expect((await run(['export', DEMO, '--tar', tar])).code).toBe(0);
    expect(fs.statSync(tar).size).toBeGreaterThan(1_000_000);
    const dir = join(work, 'root');
    fs.mkdirSync(dir);
    const quiet = await run(['export', DEMO, '--dir', dir]);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^\d+ entries, .* written to /);
    expect(fs.readFileSync(join(dir, 'etc/motd'), 'utf8')).toBe('welcome to the layerfs demo\n');
    const dir2 = join(work, 'root2');
    fs.mkdirSync(dir2);
    expect((await run(['export', DEMO, '--dir', dir2], { tty: true })).stderr).toMatch(/exporting: \d+ entries/);
  });

  it('commit applies scripted changes and saves a new image', async () => {
    const changes = join(work, 'changes.json');
    fs.writeFileSync(changes, JSON.stringify([['writeFile', '/etc/motd', 'changed\n'], ['rm', '/var/cache', { recursive: true }]]));
    const out = join(work, 'committed');
    const r = await run(['commit', DEMO, '--changes', changes, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const ov = (await openImage(out)).overlay();
    expect(ov.readFileSync('/etc/motd', 'utf8')).toBe('changed\n');
    expect(ov.existsSync('/var/cache')).toBe(false);
    fs.writeFileSync(changes, JSON.stringify([['unlink', '/nope']]));
    const bad = await run(['commit', DEMO, '--changes', changes, '--out', join(work, 'c2')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("layerfs: change 1 (unlink): ENOENT: no such file or directory, unlink '/nope'\n");
    fs.writeFileSync(changes, JSON.stringify([['writeFile', '/etc/motd', 'zstd\n']]));
    const z = await run(['commit', DEMO, '--changes', changes, '--out', join(work, 'c3'), '--compression', 'zstd', '--json']);
    expect(z.code, z.stderr).toBe(0);
    expect(JSON.parse(z.stdout).layers.at(-1).mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect((await openImage(join(work, 'c3'))).overlay().readFileSync('/etc/motd', 'utf8')).toBe('zstd\n');
    const wrong = await run(['commit', DEMO, '--changes', changes, '--out', join(work, 'c4'), '--compression', 'lz4']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe('layerfs: --compression: expected gzip, zstd or none, not "lz4"\n');
  });

  it('serve: prints where the teaching page is, serves the page and the image, stops when told', async () => {
    process.env.LAYERFS_PAGE_DIR = join(work, 'page');
    try {
      await bundlePage(process.env.LAYERFS_PAGE_DIR);
      const stop = new AbortController();
      let printed!: (info: { url: string; layers: number }) => void;
      const started = new Promise<{ url: string; layers: number }>((resolve) => (printed = resolve));
      const served = run(['serve', DEMO, '--port', '0', '--json'], { signal: stop.signal, onStdout: (t) => printed(JSON.parse(t)) });
      const { url, layers } = await started;
      expect(layers).toBe(4);
      const html = await (await fetch(url)).text();
      expect(html).toContain('<script type="module" src="app.js"></script>');
      const image = (await (await fetch(new URL('image.json', url))).json()) as { layers: Array<{ label: string }> };
      expect(image.layers.map((l) => l.label)).toEqual((await openImage(DEMO)).layers.map((l) => l.layer.name));
      stop.abort();
      expect((await served).code).toBe(0);
      await expect(fetch(url)).rejects.toThrow();

      const bad = await run(['serve', DEMO, '--port', 'eighty']);
      expect(bad).toMatchObject({ code: 2, stderr: 'layerfs: --port: expected a port number, not "eighty"\n' });
    } finally {
      delete process.env.LAYERFS_PAGE_DIR;
    }
  });

  it('errors: one line on stderr and a non-zero exit; usage errors exit 2', async () => {
    const missing = await run(['inspect', join(work, 'no-such-image')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^layerfs: .*no-such-image: no such file or directory\n$/);
    expect((await run(['frobnicate', DEMO])).code).toBe(2);
    expect((await run(['inspect'])).code).toBe(2);
    expect((await run(['inspect', DEMO, '--bogus'])).code).toBe(2);
    const notFile = await run(['cat', DEMO, '/etc']);
    expect(notFile).toMatchObject({ code: 1, stderr: "layerfs: EISDIR: illegal operation on a directory, read\n" });
  });

  it('colour only when allowed (a terminal and no NO_COLOR)', async () => {
    expect((await run(['tree', DEMO, '/etc'], { color: false })).stdout).not.toContain(ESC);
    expect((await run(['tree', DEMO, '/etc'], { color: true })).stdout).toContain(ESC);
  });

  it('demo narrates the bundled image', async () => {
    const d = await run(['demo']);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('event opaque    /usr/share/doc/demo');
  });
});

describe('the layerfs program (src/cli/main.ts bundled by esbuild, run by node as a process)', () => {
  const bin = join(work, 'layerfs.mjs');
  const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
  beforeAll(async () => {
    await bundleForNode(join(REPO, 'src/cli/main.ts'), bin);
  });
  const layerfs = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, LAYERFS_NATIVE_ADDON: join(REPO, 'native/build/Release/layerfs_host.node') } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('export --dir into a non-empty directory names the flags that allow it; --overwrite redoes it, --allow-non-empty writes beside', () => {
    const dir = join(work, 'cli-target');
    fs.mkdirSync(dir);
    expect(layerfs('export', DEMO, '--dir', dir).code).toBe(0);
    fs.writeFileSync(join(dir, 'etc/motd'), 'changed since');
    const again = layerfs('export', DEMO, '--dir', dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`layerfs: ${dir}: the directory is not empty (--allow-non-empty writes beside what is there, --overwrite replaces it)\n`);
    const beside = layerfs('export', DEMO, '--dir', dir, '--allow-non-empty');
    expect(beside.code).toBe(1);
    expect(beside.stderr).toMatch(/^layerfs: .*: already there \(--overwrite replaces it\)\n$/);
    const redone = layerfs('export', DEMO, '--dir', dir, '--overwrite');
    expect(redone.code, redone.stderr).toBe(0);
    expect(fs.readFileSync(join(dir, 'etc/motd'), 'utf8')).toBe('welcome to the layerfs demo\n');
    const extra = join(work, 'cli-extra');
    fs.mkdirSync(extra);
    fs.writeFileSync(join(extra, 'mine'), 'kept');
    expect(layerfs('export', DEMO, '--dir', extra, '--allow-non-empty').code).toBe(0);
    expect(fs.readFileSync(join(extra, 'mine'), 'utf8')).toBe('kept');
    expect(layerfs('export', DEMO, '--tar', join(work, 'x.tar'), '--overwrite').code).toBe(2);
    expect(layerfs('export', DEMO, '--dir', dir, '--overwrite', '--allow-non-empty').code).toBe(2);
    expect(layerfs('export', '--help').stdout).toContain('--overwrite');
  });
});

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCli, cliEnv } from './support/cli-binary.js';
import { skopeoPush, startRegistry, type RunningRegistry } from './registry/support/reference-registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** Runs a README example as written (importing the package by its name) and gives what it logged. */
async function run(code: string, name: string): Promise<unknown[][]> {
  const file = join(here, `.readme-example-${name}.tmp.ts`);
  writeFileSync(file, code.replace("from 'layerfs'", "from '../src/index.js'"));
  const logs: unknown[][] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args));
  try {
    await import(file);
  } finally {
    spy.mockRestore();
    rmSync(file);
  }
  return logs;
}

/** The README examples must run as written, and print what their comments say. */
it('the README example runs and prints what its comments say', async () => {
  expect(await run(examples[0]!, 'overlay')).toEqual([
    ['copy-up', '/etc'],
    ['copy-up', '/etc/passwd'],
    ['copy-up', '/app'],
    [['passwd']],
    ['upper'],
    [{ '/app/.wh.main.js': '', '/etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n' }],
  ]);
});

it("the README's ov.fs example runs: fast-glob sees the overlay", async () => {
  const logs = await run(examples[1]!, 'fs');
  expect(logs).toEqual([[['index.js', 'lib/new.js', 'lib/util.js']], [true]]);
});

/**
 * The README's command-line block, run as written with the real npx in a package directory
 * (test/support/cli-binary.ts: dist/ built by tsc beside package.json and images/, as a fresh
 * clone after `npm run build`): each line must exit 0; `serve` runs until it prints where the
 * page is, then is stopped with SIGINT. The lines that pull name a registry at 127.0.0.1:5000:
 * the reference registry (docker-registry) runs for them on a free port, with the bundled image
 * pushed by skopeo as demo:latest, and that port is put in the lines instead of 5000.
 */
describe('the README command lines', () => {
  let cli: ReturnType<typeof buildCli>;
  let registry: RunningRegistry | undefined;
  beforeAll(async () => {
    cli = buildCli();
    registry = await startRegistry();
    await skopeoPush(`${join(here, '..', 'images', 'demo')}:latest`, registry, 'demo:latest');
  }, 120_000);
  afterAll(async () => {
    cli?.cleanup();
    await registry?.stop();
  });

  const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');
  const block = /## The command line\n\n```sh\n([\s\S]*?)```/.exec(readme)![1]!;
  // A comment starts at `  #` (two spaces); a `#` inside a command stays.
  const lines = block.split('\n').map((l) => l.replace(/\s{2,}#.*$/, '').trim()).filter(Boolean);

  it('the block has the lines this test runs', () => {
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.filter((l) => !l.includes('npx layerfs') && !l.startsWith('echo '))).toEqual([]);
  });

  const longRunning = (l: string) => /^npx layerfs serve\b/.test(l) || /npx layerfs mount\b/.test(l);
  it.each(lines.filter((l) => !longRunning(l)))('%s', (line) => {
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', line.replaceAll('127.0.0.1:5000', registry!.host)], { cwd: cli.pkg, encoding: 'utf8', env: cliEnv(), maxBuffer: 64 * 2 ** 20 });
    // `| head` closes the pipe early: the writer's 141 (SIGPIPE's status) is what Unix tools give there.
    const ok = r.status === 0 || (line.includes('| head') && r.status === 141);
    expect(ok, `${line}\nstatus ${r.status}\n${r.stderr}`).toBe(true);
    expect(r.stderr, line).not.toMatch(/Error|at .*\.js:\d+/);
  });

  it.each(lines.filter((l) => /^npx layerfs serve\b/.test(l)))('%s (stopped once it is up)', async (line) => {
    const page = join(cli.pkg, 'page-for-test');
    const { bundlePage } = await import('../src/serve/bundle-page.js');
    await bundlePage(page);
    // Port 0 instead of the default 8080, which another program on the machine may hold.
    const child = spawn('bash', ['-c', `exec ${line} --port 0`], { cwd: cli.pkg, env: cliEnv({ LAYERFS_PAGE_DIR: page }), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const first = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => ((out += c), out.includes('\n') && resolve(out)));
      child.on('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    expect(first).toMatch(/^layerfs: the teaching page for the bundled demo image is at http:\/\/127\.0\.0\.1:\d+\//);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // npx runs the program as its child: SIGINT goes to the whole process group, as Ctrl-C sends it.
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    expect(() => process.kill(-child.pid!, 0)).toThrow(); // nothing of the group is left
  });

  it.each(lines.filter((l) => /npx layerfs mount\b/.test(l)))('%s (a write through the mount, then Ctrl-C)', async (line) => {
    // `exec`: the shell becomes npx, which runs the program as its child (as serve's line above).
    const child = spawn('bash', ['-c', line.replace('&& npx ', '&& exec npx ')], { cwd: cli.pkg, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => void (stderr += c));
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`${code ?? signal}`)));
    try {
      const first = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => ((out += c), out.includes('\n') && resolve(out)));
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      expect(first).toMatch(/^layerfs: mounted at .*mnt;/);
      // A real program writes through the mount; the committed image holds it.
      const sh = spawnSync('chroot', [join(cli.pkg, 'mnt'), '/bin/sh', '-c', 'echo through the mount > /etc/motd'], { encoding: 'utf8' });
      expect(sh.status, sh.stderr).toBe(0);
      process.kill(-child.pid!, 'SIGINT');
      // npm exec ends by the signal it forwarded once its child (layerfs, which unmounts and
      // commits on SIGINT) has ended, as a program stopped by Ctrl-C tells its shell.
      expect(['0', 'SIGINT'], stderr).toContain(await exited);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(cli.pkg, 'mnt'));
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      spawnSync('fusermount', ['-uz', join(cli.pkg, 'mnt')]);
    }
    const cat = spawnSync('bash', ['-c', 'npx layerfs cat ./mounted /etc/motd'], { cwd: cli.pkg, env: cliEnv(), encoding: 'utf8' });
    expect(cat.stdout).toBe('through the mount\n');
  }, 60_000);
});

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The package whose CLI is tested: this checkout, or LAYERFS_CLI_ROOT (another checkout, to
 * run the same tests against an older CLI and see them fail before a fix).
 */
export const CLI_ROOT = process.env.LAYERFS_CLI_ROOT ?? REPO;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The layerfs program as npm installs it: src compiled by tsc with the build's tsconfig, and
 * bundled as npm run build does, into a fresh package directory (package.json, images, native and node_modules beside dist/, as in
 * an installed package), run by node as a process. Returns the directory and a runner.
 */
export function buildCli(): { pkg: string; bin: string; cleanup: () => void } {
  const pkg = fs.mkdtempSync(join(tmpdir(), 'lfs-cli-pkg-'));
  for (const name of ['images', 'native', 'node_modules']) fs.symlinkSync(join(CLI_ROOT, name), join(pkg, name));
  fs.copyFileSync(join(CLI_ROOT, 'package.json'), join(pkg, 'package.json'));
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(CLI_ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--declaration', 'false', '--declarationMap', 'false'], { stdio: 'inherit' });
    // The bundles npm run build makes of dist/index.js and dist/cli/main.js (build/bundle.mjs), when this checkout has the step.
    const bundle = join(CLI_ROOT, 'build/bundle.mjs');
    if (fs.existsSync(bundle)) execFileSync(process.execPath, [bundle, join(pkg, 'dist')], { stdio: 'inherit', env: { ...process.env, LAYERFS_BUNDLE_QUIET: '1' } });
  } catch (e) {
    fs.rmSync(pkg, { recursive: true, force: true });
    throw e;
  }
  return { pkg, bin: join(pkg, 'dist/cli/main.js'), cleanup: () => fs.rmSync(pkg, { recursive: true, force: true }) };
}

export const cliEnv = (extra: Record<string, string> = {}) => ({
  ...process.env,
  NO_COLOR: '',
  LAYERFS_NATIVE_ADDON: join(CLI_ROOT, 'native/build/Release/layerfs_host.node'),
  ...extra,
});

/** Runs `node BIN ARGS...` to its end. */
export function runCli(bin: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): CliRun {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: opts.cwd, env: cliEnv(opts.env), input: opts.input, maxBuffer: 64 * 2 ** 20 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell pipeline (`bash -c`, pipefail) with $LAYERFS set to the program; returns bash's result and PIPESTATUS. */
export function runShell(bin: string, script: string, opts: { cwd?: string } = {}): CliRun & { pipestatus: number[] } {
  const r = spawnSync('bash', ['-c', `${script}; echo "PIPESTATUS=\${PIPESTATUS[*]}" >&2`], {
    encoding: 'utf8',
    cwd: opts.cwd,
    env: cliEnv({ LAYERFS: `${process.execPath} ${bin}` }),
    maxBuffer: 64 * 2 ** 20,
  });
  const m = /PIPESTATUS=([\d ]+)\n$/.exec(r.stderr);
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.replace(/PIPESTATUS=[\d ]+\n$/, ''), pipestatus: m ? m[1]!.trim().split(' ').map(Number) : [] };
}

/** Starts the program and resolves with its first line of stdout (serve prints where it is). */
export function startCli(bin: string, args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
      if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
    });
    child.on('exit', () => reject(new Error(`exited before printing: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, firstLine, exited };
}

/**
 * For a test file: the program built once (buildCli) and a scratch directory to run it in,
 * both removed after the file's tests (the vitest hooks are registered by this call).
 */
export function cliInScratch(prefix: string): { work: string; layerfs: (...args: string[]) => CliRun; built: () => ReturnType<typeof buildCli> } {
  const work = fs.mkdtempSync(join(tmpdir(), prefix));
  let cli: ReturnType<typeof buildCli> | undefined;
  beforeAll(() => {
    cli = buildCli();
  }, 120_000);
  afterAll(() => {
    cli?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  return { work, layerfs: (...args) => runCli(cli!.bin, args, { cwd: work }), built: () => cli! };
}

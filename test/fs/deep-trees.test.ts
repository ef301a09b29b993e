import { execFileSync } from 'node:child_process';
import * as nodefs from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { capture, type AnyFs } from './misuse-harness.js';

/**
 * Trees deeper than any path can name (issue 13, "Size and depth"): a lower layer holding a
 * chain of 5,000 directories. Recursive readdir and rm walk it without overflowing the
 * stack, and stop where the kernel does: a path of PATH_MAX bytes is ENAMETOOLONG. Each call
 * is made on Node's fs over a kernel overlay of the same chain and on layerfs; the outcomes
 * must be equal.
 */
const DEPTH = 5000;
const kernelOk = requireKernelOverlay('the deep-tree comparison');

// A chain no absolute path reaches, so it is built one directory at a time, by descriptor.
const BUILD = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range(int(sys.argv[2])):
    os.mkdir('d', 0o755, dir_fd=fd)
    os.utime('d', (0, 0), dir_fd=fd)
    inner = os.open('d', os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = inner
f = os.open('f', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b'x')
os.close(f)
os.close(fd)
`;

/**
 * Node 20's rmSync recurses (lib/internal/fs/rimraf.js) and overflows its default stack on
 * these chains (RangeError), a limit of Node's, not of the system calls. Its kernel side runs
 * in a Node with a larger stack, to see what its algorithm gives; layerfs's is iterative.
 */
function onBigStack(cwd: string, code: string): unknown {
  const script = `try { ${code}; console.log(JSON.stringify({ value: 'undefined' })) } catch (e) {
    const o = { throws: e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError' : 'Error', name: e.name, message: e.message };
    for (const k of ['code', 'errno', 'syscall', 'path']) if (e[k] !== undefined) o[k] = e[k];
    console.log(JSON.stringify(o)) }`;
  return JSON.parse(execFileSync(process.execPath, ['--stack-size=4000', '-e', `const fs = require('node:fs'); ${script}`], { cwd, encoding: 'utf8', maxBuffer: 1 << 26 }));
}

const calls: Array<[string, (f: AnyFs) => unknown, string?]> = [
  ['readdir -r of the chain (names): stops descending at PATH_MAX', (f) => f.readdirSync('.', { recursive: true })],
  ['readdir -r with file types: ENAMETOOLONG at PATH_MAX', (f) => f.readdirSync('.', { recursive: true, withFileTypes: true }).length],
  ['promises.readdir -r', (f) => f.promises.readdir('.', { recursive: true })],
  ['rm -r of the chain: ENAMETOOLONG where the paths reach PATH_MAX, nothing removed', (f) => f.rmSync('d', { recursive: true }), "fs.rmSync('d', { recursive: true })"],
  ['promises.rm -r of the chain', (f) => f.promises.rm('d', { recursive: true })],
  ['mkdir -p of 10,000 levels: ENAMETOOLONG', (f) => f.mkdirSync('e/'.repeat(10_000), { recursive: true })],
  ['mkdir -p of 2,047 levels (4,093 bytes)', (f) => f.mkdirSync(`${'e/'.repeat(2046)}e`, { recursive: true })],
  ['readdir -r of those', (f) => f.readdirSync('e', { recursive: true }).length],
  ['rm -r of those', (f) => f.rmSync('e', { recursive: true }), "fs.rmSync('e', { recursive: true })"],
  ['what is left at the top', (f) => f.readdirSync('.')],
];

describe.runIf(kernelOk)('deep trees: layerfs against Node fs on a kernel overlay', () => {
  let base: string | undefined;
  let mounted = false;
  const results: Array<{ kernel: unknown; layerfs: unknown }> = [];

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'lfs-deep-'));
    const mount = join(base, 'm');
    for (const d of ['l', 'u', 'w', 'm']) nodefs.mkdirSync(join(base, d));
    execFileSync('python3', ['-c', BUILD, join(base, 'l'), String(DEPTH)]);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', 'lowerdir=l,upperdir=u,workdir=w', mount], { cwd: base, stdio: 'pipe' });
    mounted = true;
    const layer = MemoryLayer.fromJSON({ [`/${'d/'.repeat(DEPTH)}f`]: 'x' });
    const ov = new Overlay({ lower: [layer], umask: process.umask() });
    const cwd = process.cwd();
    for (const [, call, bigStack] of calls) {
      if (bigStack) {
        results.push({ kernel: onBigStack(mount, bigStack), layerfs: await capture(() => call(ov), (s) => s) });
        continue;
      }
      process.chdir(mount);
      let k: unknown;
      try {
        k = await capture(() => call(nodefs), (s) => s);
      } finally {
        process.chdir(cwd);
      }
      results.push({ kernel: k, layerfs: await capture(() => call(ov), (s) => s) });
    }
  }, 120_000);

  afterAll(() => {
    if (!base) return;
    if (mounted) execFileSync('umount', [join(base, 'm')]);
    execFileSync('rm', ['-rf', base]); // Node's own rmSync recurses, and would overflow on this tree
  });

  calls.forEach(([name], i) => {
    it(name, () => {
      expect(results[i]!.layerfs).toEqual(results[i]!.kernel);
    });
  });
});

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { KernelOverlay } from '../kernel/kernel-overlay.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';

/**
 * The overlay's `cwd` after the tree around it changed, on a real overlay mount (a child
 * chrooted into it, so absolute paths mean the same). The option is a path (docs/api.md,
 * "Paths"): a relative path `p` is `cwd/p`, walked by the kernel's rules when the call is
 * made. So each relative call must answer what the kernel answers for `cwd/p` at that moment.
 * A process's working directory is different: the kernel holds the directory itself (a
 * dentry), so after the same changes it still reaches the old one. That difference is kept on
 * purpose and checked here too, so the docs cannot claim a sameness the kernel does not have.
 */
const live = requireKernelOverlay('the cwd scenarios against a process on a kernel overlay', 'not compared');

const tree = { '/x/y/f': 'old', '/x/sib': 's', '/d/f': 'other', '/ln': { type: 'symlink' as const, linkTarget: 'x/y' } };

type Op = [string, ...unknown[]];

/** Runs the ops in a child chrooted into the mount, its cwd `cwd`: each op's result or errno. */
const PY = `
import json, os, sys, errno, shutil
mount, cwd = sys.argv[1], sys.argv[2]
pre, ops = json.load(sys.stdin)
os.chroot(mount)
joined = sys.argv[3] == 'joined'
def at(p):
  return p if (not joined or p.startswith('/')) else (cwd.rstrip('/') + '/' + p)
def run(ops):
  out = []
  for op in ops:
    n = op[0]
    # Paths are joined; a symlink's target and a file's content are not paths.
    a = [x if (n == 'symlink' and i == 0) or (n == 'writeFile' and i == 1) else at(x) for i, x in enumerate(op[1:])]
    try:
        if n == 'readFile':
            with open(a[0]) as f: out.append(f.read())
        elif n == 'writeFile':
            with open(a[0], 'w') as f: f.write(a[1])
            out.append('ok')
        elif n == 'readdir': out.append(sorted(os.listdir(a[0])))
        elif n == 'mkdir': os.mkdir(a[0]); out.append('ok')
        elif n == 'rename': os.rename(a[0], a[1]); out.append('ok')
        elif n == 'unlink': os.unlink(a[0]); out.append('ok')
        elif n == 'symlink': os.symlink(a[0], a[1]); out.append('ok')
        elif n == 'rmrf': shutil.rmtree(a[0]); out.append('ok')
        else: raise SystemExit('unknown ' + n)
    except OSError as e:
        out.append({'errno': errno.errorcode[e.errno]})
  return out
run(pre)
if not joined: os.chdir(cwd)
print(json.dumps(run(ops)))
`;

/** `process`: the child's working directory is `cwd`; `joined`: it stays at / and a relative path is given as `cwd/p`. */
function onKernel(cwd: string, ops: Op[], pre: Op[] = [], how: 'process' | 'joined' = 'process'): unknown[] {
  const k = new KernelOverlay([MemoryLayer.fromJSON(tree)], { upperRoot: { mode: 0o40755, uid: 0, gid: 0, atimeMs: 0, mtimeMs: 0 } });
  try {
    return JSON.parse(execFileSync('python3', ['-c', PY, k.mountpoint, cwd, how], { input: JSON.stringify([pre, ops]), encoding: 'utf8' }));
  } finally {
    k.dispose();
  }
}

function onLayerfs(cwd: string, ops: Op[], pre: Op[] = []): unknown[] {
  const ov = new Overlay({ lower: [MemoryLayer.fromJSON(tree)], cwd, redirectDir: false });
  const f = ov.fs;
  const run = ([n, ...a]: Op) => {
    const p = a as string[];
    try {
      switch (n) {
        case 'readFile': return f.readFileSync(p[0]!, 'utf8');
        case 'writeFile': return f.writeFileSync(p[0]!, p[1]!), 'ok';
        case 'readdir': return f.readdirSync(p[0]!).sort();
        case 'mkdir': return f.mkdirSync(p[0]!), 'ok';
        case 'rename': return f.renameSync(p[0]!, p[1]!), 'ok';
        case 'unlink': return f.unlinkSync(p[0]!), 'ok';
        case 'symlink': return f.symlinkSync(p[0]!, p[1]!), 'ok';
        case 'rmrf': return f.rmSync(p[0]!, { recursive: true }), 'ok';
      }
      throw new Error(`unknown ${n}`);
    } catch (e) {
      return { errno: (e as { code?: string }).code };
    }
  };
  pre.forEach(run);
  return ops.map(run);
}

/** [name, cwd, the ops run there, the ops run at / before (the cwd must be there to chdir)] */
const cases: Array<[string, string, Op[], Op[]?]> = [
  ['the symlink the cwd was reached through is replaced', '/ln', [['readFile', 'f'], ['unlink', '/ln'], ['symlink', 'd', '/ln'], ['readFile', 'f'], ['readdir', '..']]],
  ['the cwd is removed and another directory made at its path', '/x/y', [['readFile', 'f'], ['rmrf', '/x/y'], ['mkdir', '/x/y'], ['writeFile', '/x/y/f', 'new'], ['readFile', 'f'], ['writeFile', 'g', 'g'], ['readdir', '/x/y']]],
  ['the cwd (upper only) is renamed and another directory made at its path', '/u/v', [['readFile', 'f'], ['rename', '/u/v', '/u/w'], ['mkdir', '/u/v'], ['writeFile', '/u/v/f', 'impostor'], ['readFile', 'f']], [['mkdir', '/u'], ['mkdir', '/u/v'], ['writeFile', '/u/v/f', 'mine']]],
  ['the cwd is removed: .. still leads to its parent', '/x/y', [['rmrf', '/x/y'], ['readdir', '..'], ['readFile', '../sib']]],
];

describe.runIf(live)('cwd after the tree around it changed, on a kernel overlay', () => {
  for (const [name, cwd, ops, pre] of cases) {
    it(`${name}: each relative call answers as the kernel's call on cwd/p`, () => {
      expect(onLayerfs(cwd, ops, pre)).toEqual(onKernel(cwd, ops, pre, 'joined'));
    });
    it(`${name}: a process chdir'ed there answers otherwise (it holds the old directory; docs/api.md)`, () => {
      expect(onKernel(cwd, ops, pre, 'process')).not.toEqual(onLayerfs(cwd, ops, pre));
    });
  }
});

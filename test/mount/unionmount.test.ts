import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCli } from '../support/cli-binary.js';
import { requireFuse } from './fuse-daemon.js';
import { canUnshare, helperShell } from './fuse-helper-env.js';

/**
 * The union-mount test suite (github.com/amir73il/unionmount-testsuite, the one the kernel's
 * overlayfs and fuse-overlayfs are tested with) through `mount -t fuse.layerfs`. It is not
 * part of the project: it is run from a copy of ../shared/third-party/unionmount-testsuite
 * (CI has the folder beside the clone; LAYERFS_THIRD_PARTY names another; it writes into its own tree). Each test file runs on
 * its own (the suite stops at its first failure; see testRuns), and the files and cases that
 * pass must not fall below the recorded counts in unionmount-baseline.json; a file that fails
 * must be one listed there with its reason (docs/mount.md, "The union-mount test suite").
 */
/** The third-party folder beside the clone (as CI has it), or LAYERFS_THIRD_PARTY (a worktree elsewhere). */
const SUITE = join(process.env.LAYERFS_THIRD_PARTY ?? join(import.meta.dirname, '../../../shared/third-party'), 'unionmount-testsuite');
const BASELINE = JSON.parse(fs.readFileSync(join(import.meta.dirname, 'unionmount-baseline.json'), 'utf8')) as { files: number; cases: number; failing: Record<string, string> };

function suitePresent(): boolean {
  if (fs.existsSync(join(SUITE, 'run'))) return true;
  const msg = `UNIONMOUNT TEST SUITE NOT FOUND at ${SUITE}: test/mount/unionmount did not run`;
  console.error(`\n*** ${msg} ***\n`);
  if (process.env.CI) describe('unionmount-testsuite', () => it('is there', () => { throw new Error(msg); }));
  return false;
}

const ok = suitePresent() && requireFuse('the union-mount test suite (test/mount/unionmount)') && canUnshare();

/**
 * Each test file and how it runs. The kernel's configuration: `redirect_dir=on`
 * (UNIONMOUNT_MNTOPTIONS), the test files `run` lists (its `tests = [...]`) and the four
 * directory-rename files it adds when redirect_dir is on. And rename-exdev, which it runs
 * instead of those under `--xdev` (redirect_dir off: a merged directory's rename is EXDEV).
 */
function testRuns(copy: string): Array<{ name: string; how: string }> {
  const run = fs.readFileSync(join(copy, 'run'), 'utf8');
  const list = /tests = \[([^\]]*)\]/.exec(run)?.[1] ?? '';
  const redirectOn = 'UNIONMOUNT_MNTOPTIONS=redirect_dir=on ./run --ov --fuse=layerfs --samefs';
  return [
    ...[...[...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!), 'rename-dir', 'rename-empty-dir', 'rename-pop-dir', 'rename-move-dir'].map((name) => ({ name, how: redirectOn })),
    { name: 'rename-exdev', how: './run --ov --fuse=layerfs --samefs --xdev' },
  ];
}

describe.runIf(ok)('unionmount-testsuite through mount -t fuse.layerfs', () => {
  it(`passes at least ${BASELINE.files} test files and ${BASELINE.cases} cases`, () => {
    const cli = buildCli();
    const work = fs.mkdtempSync('/tmp/lfs-unionmount-');
    // Others must get in: the suite's impermissible tests run as uid 1 (mkdtemp makes it 0700).
    fs.chmodSync(work, 0o755);
    try {
      const copy = join(work, 'suite');
      fs.cpSync(SUITE, copy, { recursive: true });
      const runs = testRuns(copy);
      const names = runs.map((x) => x.name);
      expect(names.length).toBeGreaterThan(50);
      const logs = join(work, 'logs');
      fs.mkdirSync(logs);
      const sh = helperShell(cli.bin, work, 900_000);
      const r = sh(`cd ${copy}\nexport UNIONMOUNT_BASEDIR=${work}/base\nmkdir -m 755 $UNIONMOUNT_BASEDIR\n${runs.map(({ name, how }) => `${how} ${name} > ${logs}/${name}.log 2>&1; echo "${name} $?"; umount $UNIONMOUNT_BASEDIR/m 2>/dev/null`).join('\n')}`);
      expect(r.code, r.stderr).toBe(0);
      const results = r.stdout.trim().split('\n').map((line) => {
        const [name, rc] = line.split(' ') as [string, string];
        const log = fs.readFileSync(join(logs, `${name}.log`), 'utf8');
        const tests = (log.match(/^TEST /gm) ?? []).length;
        // A failing file's last TEST line is the case that failed; the ones before it passed.
        return { name, passed: rc === '0', cases: rc === '0' ? tests : Math.max(0, tests - 1), tail: log.trim().split('\n').slice(-2).join(' | ') };
      });
      expect(results.map((x) => x.name)).toEqual(names);
      const failed = results.filter((x) => !x.passed);
      const files = results.length - failed.length;
      const cases = results.reduce((n, x) => n + x.cases, 0);
      console.log(`unionmount-testsuite through layerfs: ${files} of ${results.length} files, ${cases} cases passed${failed.length ? `; failed: ${failed.map((x) => `${x.name} (${x.tail})`).join('; ')}` : ''}`);
      for (const f of failed) expect(BASELINE.failing, `${f.name} failed, and docs/mount.md does not list it: ${f.tail}`).toHaveProperty([f.name]);
      expect(files).toBeGreaterThanOrEqual(BASELINE.files);
      expect(cases).toBeGreaterThanOrEqual(BASELINE.cases);
    } finally {
      cli.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 900_000);
});

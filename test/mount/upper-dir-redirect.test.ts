import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UpperDir } from '../../src/mount/upper-dir.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';

/**
 * trusted.overlay.redirect values in U that the kernel does not follow (ovl_check_redirect):
 * a relative one with a '/', an absolute one with an empty, '.' or '..' component. The kernel
 * fails the lookup of such a directory; the mount over U must not show the lower directory
 * the value would name as a path (`a/b` read as /a/b), nor the directory without it.
 */
const ok = requireKernelOverlay('the upper directory redirect checks (test/mount/upper-dir-redirect)');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(redirect: string): string {
  const d = fs.mkdtempSync('/tmp/lfs-upredir-');
  dirs.push(d);
  for (const s of ['l/a/b', 'l/c', 'u/x', 'w', 'm']) fs.mkdirSync(join(d, s), { recursive: true });
  fs.writeFileSync(join(d, 'l/a/b/f'), 'in-b\n');
  fs.writeFileSync(join(d, 'l/c/g'), 'in-c\n');
  execFileSync('setfattr', ['-n', 'trusted.overlay.redirect', '-v', redirect, join(d, 'u/x')]);
  return d;
}

describe.runIf(ok)('a redirect in U the kernel does not follow', () => {
  for (const redirect of ['a/b', '/a//b', '/a/../c', '/a/./b', '/a/b/']) {
    it(`${redirect}: the kernel fails the lookup; the mount is refused, naming it`, () => {
      const k = setup(redirect);
      execFileSync('mount', ['-t', 'overlay', 'overlay', join(k, 'm'), '-o', `lowerdir=${join(k, 'l')},upperdir=${join(k, 'u')},workdir=${join(k, 'w')},redirect_dir=on`]);
      let kernel: string;
      try {
        kernel = (() => {
          try {
            return fs.readdirSync(join(k, 'm/x')).join(',');
          } catch (e) {
            return (e as NodeJS.ErrnoException).code!;
          }
        })();
      } finally {
        execFileSync('umount', [join(k, 'm')]);
      }
      expect(kernel).toMatch(/^E(INVAL|ACCES)$/);
      const d = setup(redirect);
      expect(() => UpperDir.open(join(d, 'u'), join(d, 'w'))).toThrow(/x holds trusted.overlay.redirect .*which the kernel does not follow/);
    });
  }

  it('a bare name and an absolute path of names are followed, as the kernel does', () => {
    for (const redirect of ['c', '/a/b']) {
      const d = setup(redirect);
      const upper = UpperDir.open(join(d, 'u'), join(d, 'w'));
      expect(upper.redirected).toBe(1);
      upper.close();
    }
  });
});

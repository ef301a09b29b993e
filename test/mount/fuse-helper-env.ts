import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { cliEnv } from '../support/cli-binary.js';

/**
 * `mount -t fuse.layerfs` as a user runs it: mount(8) starts mount.fuse3 with an empty
 * environment, whose /bin/sh finds `layerfs` on the default PATH only
 * (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin). So a shell script runs in a
 * mount namespace of its own (unshare -m) where a tmpfs over /usr/local/sbin holds a
 * `layerfs` that runs the built program: the host's directories are not touched, and every
 * mount made inside goes with the namespace.
 */
export function helperShell(bin: string, work: string, timeoutMs = 120_000): (script: string) => { code: number | null; stdout: string; stderr: string } {
  const wrapper = join(work, 'layerfs-wrapper');
  const env = cliEnv();
  fs.writeFileSync(wrapper, `#!/bin/sh\nexport LAYERFS_NATIVE_ADDON=${JSON.stringify(env.LAYERFS_NATIVE_ADDON)}\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`, { mode: 0o755 });
  const prelude = `set -e\nmount -t tmpfs layerfs-bin /usr/local/sbin\ncp ${JSON.stringify(wrapper)} /usr/local/sbin/layerfs\nset +e\n`;
  return (script) => {
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'bash', '-c', prelude + script], { encoding: 'utf8', env, maxBuffer: 1 << 28, timeout: timeoutMs });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

/** Whether unshare(1) can make a mount namespace here (root, util-linux). */
export function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['-m', 'true'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

/** push's usage errors exit 2 in the command line's words (docs/cli.md conventions), before any image is read or request sent. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t.toString()), stderr: (t) => void (stderr += t), stderrIsTTY: false, color: false });
  return { code, stdout, stderr };
}

describe('push --from', () => {
  it('a value with a tag or digest, or an empty one, is a usage error naming --from, status 2', async () => {
    for (const from of ['team/app:v1', 'team/app@sha256:' + 'a'.repeat(64), '']) {
      const r = await cli('push', '/nonexistent-layout', '127.0.0.1:1/x', '--from', from);
      expect(r, from).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr, from).toMatch(/^layerfs: push: --from takes a repository of the same registry \(team\/app\), without a tag or digest, not ".*"\n$/);
    }
  });
});

describe('pull --platform', () => {
  it('a value not OS/ARCH[/VARIANT] is a usage error, status 2, before any request; the store is not made', async () => {
    const { mkdtempSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const store = join(mkdtempSync(join(tmpdir(), 'layerfs-pull-usage-')), 'store');
    const r = await cli('pull', '127.0.0.1:9/x:latest', '--platform', 'bogus', '--store', store);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe('layerfs: --platform: expected OS/ARCH[/VARIANT] such as linux/amd64 or linux/arm/v7, not "bogus"\n');
    expect(existsSync(store)).toBe(false);
  });
});

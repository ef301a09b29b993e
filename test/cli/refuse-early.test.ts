import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

/** `layerfs ARGS` run in this process, stdout a terminal: exit status and stderr. */
async function onTerminal(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t.toString()), stderr: (t) => void (stderr += t), stdoutIsTTY: true, stderrIsTTY: true, color: false });
  return { code, stdout, stderr };
}

// An IMAGE that is not there: a refusal that comes before IMAGE is opened is the only answer.
const MISSING = join(tmpdir(), `lfs-no-such-image-${process.pid}`);

describe('export refuses what its flags say before it opens IMAGE, as GNU tar does before it reads a file', () => {
  it('--tar - to a terminal: refused (exit 2) before IMAGE is opened', async () => {
    expect(await onTerminal('export', MISSING, '--tar', '-')).toEqual({ code: 2, stdout: '', stderr: 'layerfs: export: refusing to write the tar to a terminal (redirect stdout, or give --tar FILE)\n' });
  });

  it('flags that do not go together: refused (exit 2) before IMAGE is opened', async () => {
    for (const [flags, message] of [
      [['--tar', 'x.tar', '--dir', 'd'], 'export: --tar or --dir, not both'],
      [['--tar', 'x.tar', '--overwrite'], 'export: --overwrite and --allow-non-empty go with --dir, not --tar'],
      [['--dir', 'd', '--overwrite', '--allow-non-empty'], 'export: --overwrite or --allow-non-empty, not both: --overwrite replaces what is there, --allow-non-empty refuses to'],
      [[], 'export: --tar FILE or --dir DIR is needed'],
    ] as const) {
      expect(await onTerminal('export', MISSING, ...flags)).toEqual({ code: 2, stdout: '', stderr: `layerfs: ${message}\n` });
    }
  });
});

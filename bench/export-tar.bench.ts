/**
 * The merged view as one tar, whole process against whole process (issue 17): the CLI,
 * `node dist/cli/main.js export IMG --tar -` (`npm run bench` builds dist/ first: it opens the
 * layout, indexes its layers, verifies them, writes the tar, sha256 once), against GNU `tar -c`
 * of the tree that tar extracted (untimed) from the same export. The image: 3 generated plain
 * tar layers, 254 MiB, with whiteouts, an opaque directory, replaced files, hard links, fifos.
 *
 * Both write to a file on tmpfs (/dev/shm when there is one), not /dev/null: GNU tar does not
 * read the files' content when its archive is /dev/null, so that would time the walk alone.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, bench, describe } from 'vitest';
import { writeBigImage } from '../test/export/support/big-image.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first (npm run bench does)`);
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-bench-export-tar-'));
const outRoot = fs.mkdtempSync(join(fs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'lfs-bench-export-tar-out-'));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(outRoot, { recursive: true, force: true });
});
const layout = join(dir, 'image');
const bytes = await writeBigImage(layout, { layers: 3, bigFiles: 40, bigFileBytes: 2 * 2 ** 20, smallFiles: 2000 });
const out = join(outRoot, 'out.tar');
/** Runs `file args` with stdout into `out` on tmpfs (truncated each time). */
const toTmpfs = (file: string, args: string[]) => {
  const fd = fs.openSync(out, 'w');
  try {
    execFileSync(file, args, { stdio: ['ignore', fd, 'pipe'] });
  } finally {
    fs.closeSync(fd);
  }
};
// The peer's input: the tree GNU tar extracts from layerfs's export, untimed.
const tree = join(outRoot, 'tree');
fs.mkdirSync(tree);
toTmpfs(process.execPath, [CLI, 'export', layout, '--tar', '-']);
execFileSync('tar', ['-xpf', out, '-C', tree]);

const opts = { iterations: 5, warmupIterations: 1 };
describe(`export the merged view of ${(bytes / 2 ** 20).toFixed(0)} MiB (3 plain layers) as one tar to tmpfs, whole process against whole process`, () => {
  bench('layerfs export --tar - (node dist/cli/main.js: opens and verifies the layout, streams the tar, sha256 once) [process]', () => toTmpfs(process.execPath, [CLI, 'export', layout, '--tar', '-']), opts);
  bench('GNU tar -c of the extracted tree (to the same tmpfs file) [process]', () => toTmpfs('tar', ['-cf', '-', '-C', tree, '.']), opts);
});

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A classic `docker save` directory names its layers by path, so inspect hashes each layer file
 * for its digest and size. It hashes by position, 1 MiB at a time: the memory it takes does not
 * grow with the layer (it read each layer whole, all at once, and a layer over Buffer's limit
 * failed). Measured in a child process of its own (peak RSS).
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-docker-digest-'));
// Inside the package, so that the bundle's dependencies (left external) resolve.
const child = join(process.cwd(), 'node_modules', '.cache', 'layerfs-test', `inspect-rss-child-${process.pid}.mjs`);
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(child, { force: true });
});

const LAYER_BYTES = 320 * 2 ** 20;

describe('inspect of a docker save directory', () => {
  it('hashes a 320 MiB layer file without holding it in memory, to the digest and size of its bytes', () => {
    buildSync({ entryPoints: [join(import.meta.dirname, '../support/inspect-rss-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: child, logLevel: 'error', absWorkingDir: process.cwd() });
    const image = join(dir, 'image');
    fs.mkdirSync(join(image, 'big'), { recursive: true });
    // Mostly a hole, with bytes at its start and end: the digest covers every byte.
    const layer = join(image, 'big', 'layer.tar');
    const fd = fs.openSync(layer, 'w');
    fs.writeSync(fd, Buffer.from('first bytes'), 0, 11, 0);
    fs.writeSync(fd, Buffer.from('last bytes'), 0, 10, LAYER_BYTES - 10);
    fs.closeSync(fd);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] } }));
    const configHex = createHash('sha256').update(config).digest('hex');
    fs.writeFileSync(join(image, `${configHex}.json`), config);
    fs.writeFileSync(join(image, 'manifest.json'), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['big:latest'], Layers: ['big/layer.tar'] }]));

    const expected = createHash('sha256');
    const chunk = Buffer.alloc(1 << 20);
    const rfd = fs.openSync(layer, 'r');
    for (let n; (n = fs.readSync(rfd, chunk, 0, chunk.length, null)) > 0;) expected.update(chunk.subarray(0, n));
    fs.closeSync(rfd);

    const r = spawnSync(process.execPath, [child, image], { encoding: 'utf8', cwd: process.cwd() });
    expect(r.status, r.stderr).toBe(0);
    const { peakRss, layers } = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(layers).toEqual([{ digest: `sha256:${expected.digest('hex')}`, diffId: `sha256:${'a'.repeat(64)}`, size: LAYER_BYTES, mediaType: 'application/vnd.oci.image.layer.v1.tar' }]);
    // Node itself takes about 50 MiB; reading the layer whole took more than the layer.
    expect(peakRss).toBeLessThan(LAYER_BYTES / 2);
  });
});

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay, openImage, saveImage } from '../../src/index.js';
import { essentials, snapshot, type FsLike } from '../support/tree.js';

/** saveImage writes an image real tools accept: umoci unpacks it, skopeo inspects and copies it. */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-save-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const view = (ov: Overlay) => essentials(snapshot(ov as unknown as FsLike, ''));

function change(ov: Overlay): void {
  ov.appendFileSync('/etc/passwd', 'guest:x:1001:1001::/home/guest:/bin/sh\n');
  ov.unlinkSync('/var/cache/demo/b');
  ov.rmSync('/usr/share/doc/demo', { recursive: true });
  ov.mkdirSync('/usr/share/doc/demo');
  ov.writeFileSync('/usr/share/doc/demo/NOTES', 'new\n');
  ov.renameSync('/etc/motd', '/etc/motd.old');
  ov.chmodSync('/bin/busybox', 0o700);
  ov.symlinkSync('busybox', '/bin/vi');
}

describe('saveImage', () => {
  it('appends the committed layer to the base image; layerfs, umoci and skopeo read it back as the merged view', async () => {
    const base = await openImage(DEMO);
    const ov = base.overlay();
    change(ov);
    const out = join(work, 'saved');
    const saved = await saveImage(ov, out, { base, ref: 'v2', createdBy: 'test: demo changes', config: { Cmd: ['/bin/sh', '-c', 'echo hi'] } });
    expect(saved.layers).toHaveLength(5);
    expect(saved.layers.slice(0, 4).map((l) => l.digest)).toEqual(base.layers.map((l) => l.digest));

    const again = await openImage(out, { ref: 'v2' });
    expect(again.config.rootfs.diff_ids).toHaveLength(5);
    expect(again.config.history?.at(-1)?.created_by).toBe('test: demo changes');
    expect(again.config.config?.Cmd).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(again.config.config?.Env).toEqual(base.config.config?.Env);
    const want = view(ov);
    expect(view(again.overlay())).toEqual(want);

    execFileSync('umoci', ['unpack', '--image', `${out}:v2`, join(work, 'bundle')], { stdio: 'pipe' });
    expect(essentials(snapshot(fs as unknown as FsLike, join(work, 'bundle', 'rootfs')))).toEqual(want);

    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${out}:v2`], { encoding: 'utf8' }));
    expect(inspect.Layers).toEqual(saved.layers.map((l) => l.digest));
    const docker = join(work, 'saved-docker.tar');
    execFileSync('skopeo', ['copy', '--quiet', `oci:${out}:v2`, `docker-archive:${docker}:demo:v2`], { stdio: 'pipe' });
    expect(view((await openImage(docker)).overlay())).toEqual(want);
  });

  it('writes a zstd layer that the zstd command and skopeo decompress to its diff_id; umoci unpacks the converted image', async () => {
    const base = await openImage(DEMO);
    const ov = base.overlay();
    change(ov);
    const out = join(work, 'saved-zstd');
    const saved = await saveImage(ov, out, { base, ref: 'v2', compression: 'zstd' });
    const top = saved.layers.at(-1)!;
    expect(top.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const blob = join(out, 'blobs', 'sha256', top.digest.slice(7));
    const tar = execFileSync('zstd', ['-dc', blob], { maxBuffer: 1 << 26 });
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(top.diffId);
    expect(view((await openImage(out, { ref: 'v2' })).overlay())).toEqual(view(ov));
    // umoci 0.4.7 refuses +zstd layers; skopeo decompresses ours (verifying the digest) and
    // writes gzip, and umoci unpacks that to the merged view.
    const gz = join(work, 'saved-zstd-as-gzip');
    execFileSync('skopeo', ['copy', '--quiet', '--dest-compress', '--dest-compress-format', 'gzip', `oci:${out}:v2`, `oci:${gz}:v2`], { stdio: 'pipe' });
    execFileSync('umoci', ['unpack', '--image', `${gz}:v2`, join(work, 'bundle-zstd')], { stdio: 'pipe' });
    expect(essentials(snapshot(fs as unknown as FsLike, join(work, 'bundle-zstd', 'rootfs')))).toEqual(view(ov));
  });

  it('without a base image, writes the lower layers too', async () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/a/b': 'b', '/c': 'c', '/d': null, '/d/.wh..wh..opq': '' }), MemoryLayer.fromJSON({ '/.wh.c': '', '/a/e': { type: 'symlink', linkTarget: 'b' } })] });
    ov.writeFileSync('/a/b', 'changed');
    ov.mkdirSync('/new');
    const out = join(work, 'fresh');
    const saved = await saveImage(ov, out, { sourceDateEpoch: 1_700_000_000 });
    expect(saved.layers).toHaveLength(3);
    execFileSync('umoci', ['unpack', '--image', `${out}:latest`, join(work, 'bundle2')], { stdio: 'pipe' });
    expect(essentials(snapshot(fs as unknown as FsLike, join(work, 'bundle2', 'rootfs')))).toEqual(view(ov));
    expect(view((await openImage(out)).overlay())).toEqual(view(ov));
  });

  it('refuses a base image the overlay was not made from, and a non-empty target', async () => {
    const base = await openImage(DEMO);
    const other = new Overlay({ lower: [] });
    await expect(saveImage(other, join(work, 'x'), { base })).rejects.toThrow(/not made from the base image/);
    fs.mkdirSync(join(work, 'busy'));
    fs.writeFileSync(join(work, 'busy', 'f'), '');
    await expect(saveImage(base.overlay(), join(work, 'busy'), { base })).rejects.toThrow(/not empty/);
  });
});

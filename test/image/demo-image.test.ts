import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openImage, type Overlay } from '../../src/index.js';
import { kernelOverlayAvailable } from '../kernel/kernel-overlay.js';
import { essentials, snapshot, type FsLike } from '../support/tree.js';

/**
 * The bundled image (images/demo, built by images/build-demo.sh with umoci, GNU tar and
 * busybox-static) opened by layerfs must show, entry by entry, what umoci unpacks and what the
 * kernel shows when the same layer tarballs, extracted by GNU tar, are overlay lower dirs.
 */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-img-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));


const merged = (ov: Overlay) => snapshot(ov as unknown as FsLike, '');

describe('the bundled demo image', () => {
  it('opens, verifies and describes itself', async () => {
    const image = await openImage(DEMO);
    expect(image.format).toBe('oci-layout');
    expect(image.layers).toHaveLength(4);
    expect(image.config.config?.Cmd).toEqual(['/bin/sh']);
    expect(image.config.config?.Env).toContain('PATH=/bin:/usr/bin');
    expect(image.layers.map((l) => l.layer.info.compression)).toEqual(['gzip', 'gzip', 'gzip', 'gzip']);
    const ov = image.overlay();
    expect(ov.readdirSync('/var/cache/demo')).toEqual(['b']);
    expect(ov.readdirSync('/usr/share/doc/demo')).toEqual(['README']);
    expect(ov.readFileSync('/usr/share/doc/demo/README', 'utf8')).toBe('The docs were replaced in layer 4.\n');
    expect(ov.statSync('/opt/app').isFile()).toBe(true);
    expect(ov.statSync('/etc/os-release')).toMatchObject({ mode: 0o100600, gid: 42 });
    expect(ov.statSync('/bin/busybox').nlink).toBe(2);
    expect(ov.readlinkSync('/bin/sh')).toBe('busybox');
    expect(ov.whereIs('/etc/os-release')).toMatchObject({ provider: 2, shadowed: [0] });
  });

  it('equals what umoci unpacks, entry by entry', async () => {
    const bundle = join(work, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${DEMO}:latest`, bundle], { stdio: 'pipe' });
    const ov = (await openImage(DEMO)).overlay();
    const umoci = snapshot(fs as unknown as FsLike, join(bundle, 'rootfs'));
    const mine = merged(ov);
    expect(essentials(mine)).toEqual(essentials(umoci));
    expect(Object.keys(essentials(mine)).length).toBeGreaterThanOrEqual(25);
  });

  it('reads the same image as a docker save archive and an OCI archive (skopeo, tar)', async () => {
    const docker = join(work, 'demo-docker.tar');
    const ociArchive = join(work, 'demo-oci.tar');
    execFileSync('skopeo', ['copy', '--quiet', `oci:${DEMO}:latest`, `docker-archive:${docker}:demo:latest`], { stdio: 'pipe' });
    execFileSync('tar', ['-C', DEMO, '-cf', ociArchive, '.']);
    const fromLayout = await openImage(DEMO);
    const fromDocker = await openImage(docker);
    const fromArchive = await openImage(ociArchive);
    expect(fromDocker.format).toBe('docker-archive');
    expect(fromArchive.format).toBe('oci-archive');
    expect(fromDocker.layers.map((l) => l.diffId)).toEqual(fromLayout.layers.map((l) => l.diffId));
    expect(fromDocker.config.config?.Cmd).toEqual(['/bin/sh']);
    const want = essentials(merged(fromLayout.overlay()));
    expect(essentials(merged(fromDocker.overlay()))).toEqual(want);
    expect(essentials(merged(fromArchive.overlay()))).toEqual(want);
  });

  const kernel = kernelOverlayAvailable();
  it.runIf(kernel.ok || process.env.CI)('equals the kernel overlay of the same layer tarballs extracted by GNU tar', async () => {
    if (!kernel.ok) throw new Error(`kernel overlay not available: ${kernel.why}`);
    const image = await openImage(DEMO);
    const base = join(work, 'k');
    const lowers: string[] = [];
    for (const [i, l] of image.layers.entries()) {
      const dir = join(base, `${i}`);
      fs.mkdirSync(dir, { recursive: true });
      const blob = join(DEMO, 'blobs', 'sha256', l.digest.slice('sha256:'.length));
      // umoci writes whiteouts under names the same layer makes files; GNU tar reports those (exit 2) and goes on.
      try {
        execFileSync('tar', ['--numeric-owner', '-xpf', blob, '-C', dir], { stdio: 'pipe' });
      } catch (e) {
        if ((e as { status?: number }).status !== 2) throw e;
      }
      ociToKernel(dir);
      lowers.push(dir);
    }
    for (const d of ['u', 'w', 'm']) fs.mkdirSync(join(base, d));
    const m = join(base, 'm');
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...lowers].reverse().join(':')},upperdir=${base}/u,workdir=${base}/w`, m]);
    try {
      expect(essentials(merged(image.overlay()))).toEqual(essentials(snapshot(fs as unknown as FsLike, m)));
    } finally {
      execFileSync('umount', [m]);
    }
  });
});

/** An extracted OCI layer as a kernel lower dir: `.wh.x` becomes a char 0/0 `x`, `.wh..wh..opq` the opaque xattr. */
function ociToKernel(dir: string): void {
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = join(d, name);
      const st = fs.lstatSync(p);
      if (name === '.wh..wh..opq') {
        fs.unlinkSync(p);
        execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', d]);
      } else if (name.startsWith('.wh.')) {
        fs.unlinkSync(p);
        execFileSync('mknod', [join(d, name.slice(4)), 'c', '0', '0']);
      } else if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
}

describe('docker save archives of newer Docker (an OCI layout inside)', () => {
  it('are read through their OCI index when oci-layout and index.json are present', async () => {
    // Docker 25+ writes manifest.json beside an OCI layout in one tar; the OCI side is read.
    const dir = join(work, 'docker25');
    fs.cpSync(DEMO, dir, { recursive: true });
    const index = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    fs.writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{
      Config: `blobs/sha256/${manifest.config.digest.slice(7)}`,
      RepoTags: ['demo:latest'],
      Layers: manifest.layers.map((l: { digest: string }) => `blobs/sha256/${l.digest.slice(7)}`),
    }]));
    const archive = join(work, 'docker25.tar');
    execFileSync('tar', ['-C', dir, '-cf', archive, '.']);
    const image = await openImage(archive);
    expect(image.format).toBe('oci-archive');
    expect(image.layers).toHaveLength(4);
    expect(essentials(merged(image.overlay()))).toEqual(essentials(merged((await openImage(DEMO)).overlay())));
  });
});

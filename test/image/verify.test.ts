import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageError, openImage } from '../../src/index.js';

/** Every blob is checked before it is trusted; every failure is an ImageError naming the blob. */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');
let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function copyDemo(): string {
  dir = fs.mkdtempSync(join(tmpdir(), 'lfs-verify-'));
  fs.cpSync(DEMO, dir, { recursive: true });
  return dir;
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const blob = (d: string, digest: string) => join(d, 'blobs', 'sha256', digest.replace('sha256:', ''));
const json = (p: string) => JSON.parse(fs.readFileSync(p, 'utf8'));
/** Writes JSON as a blob and returns its digest and size. */
function putJson(d: string, value: unknown): { digest: string; size: number } {
  const data = Buffer.from(JSON.stringify(value));
  fs.writeFileSync(join(d, 'blobs', 'sha256', sha(data)), data);
  return { digest: `sha256:${sha(data)}`, size: data.length };
}
function manifestOf(d: string) {
  const index = json(join(d, 'index.json'));
  return { index, manifest: json(blob(d, index.manifests[0].digest)) };
}
/** Points index.json at a changed manifest. */
function replaceManifest(d: string, manifest: unknown): void {
  const { index } = manifestOf(d);
  const m = putJson(d, manifest);
  index.manifests[0] = { ...index.manifests[0], ...m };
  fs.writeFileSync(join(d, 'index.json'), JSON.stringify(index));
}

const fails = async (p: Promise<unknown>, message: RegExp) => {
  await expect(p).rejects.toBeInstanceOf(ImageError);
  await expect(p).rejects.toThrow(message);
};

describe('image verification', () => {
  it('a tampered layer blob fails its digest, naming the blob', async () => {
    const d = copyDemo();
    const { manifest } = manifestOf(d);
    const layer = manifest.layers[1].digest;
    const data = fs.readFileSync(blob(d, layer));
    data[data.length - 1] = data[data.length - 1]! ^ 1;
    fs.writeFileSync(blob(d, layer), data);
    await fails(openImage(d), new RegExp(`layer ${layer}.*(digest mismatch|corrupt)`));
  });

  it('layers open side by side, but the error named is the first bad layer in manifest order', async () => {
    const d = copyDemo();
    const { manifest } = manifestOf(d);
    // Layer 0 is the large one (about 1 MiB): a tiny bad layer 2 fails long before it does.
    for (const i of [0, 2]) {
      const path = blob(d, manifest.layers[i].digest);
      const data = fs.readFileSync(path);
      data[data.length - 1] = data[data.length - 1]! ^ 1;
      fs.writeFileSync(path, data);
    }
    await fails(openImage(d), new RegExp(`layer ${manifest.layers[0].digest}.*(digest mismatch|corrupt)`));
  });

  it('a tampered manifest fails its digest', async () => {
    const d = copyDemo();
    const { index } = manifestOf(d);
    fs.appendFileSync(blob(d, index.manifests[0].digest), ' ');
    await fails(openImage(d), /manifest sha256:[0-9a-f]{64}: digest mismatch/);
  });

  it('a layer whose uncompressed content does not match the config diff_id fails', async () => {
    const d = copyDemo();
    const { manifest } = manifestOf(d);
    const config = json(blob(d, manifest.config.digest));
    config.rootfs.diff_ids[0] = `sha256:${'0'.repeat(64)}`;
    manifest.config = { ...manifest.config, ...putJson(d, config) };
    replaceManifest(d, manifest);
    await fails(openImage(d), /diff_id mismatch/);
  });

  it('a descriptor size that lies fails', async () => {
    const d = copyDemo();
    const { manifest } = manifestOf(d);
    manifest.layers[2].size += 1;
    replaceManifest(d, manifest);
    await fails(openImage(d), /size mismatch/);
  });

  it('digests are validated before they touch a path (no traversal, no uppercase, exact length)', async () => {
    for (const bad of ['sha256:../../../../etc/passwd', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `md5:${'a'.repeat(32)}`, 'sha256:']) {
      const d = copyDemo();
      const { manifest } = manifestOf(d);
      manifest.layers[0].digest = bad;
      replaceManifest(d, manifest);
      await fails(openImage(d), /invalid digest/);
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('platform selection: picks the match, and lists the available platforms when none matches', async () => {
    const d = copyDemo();
    const { index } = manifestOf(d);
    const amd = { ...index.manifests[0], platform: { os: 'linux', architecture: 'amd64' } };
    const arm = { ...index.manifests[0], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
    fs.writeFileSync(join(d, 'index.json'), JSON.stringify({ ...index, manifests: [amd, arm] }));
    expect((await openImage(d, { platform: 'linux/arm64' })).layers).toHaveLength(4);
    await fails(openImage(d, { platform: 'windows/amd64' }), /no manifest for platform windows\/amd64; available: linux\/amd64, linux\/arm64\/v8/);
  });

  it("a layout's one image is opened whatever platform index.json names, as skopeo's oci: takes it; asked for another, it is refused", async () => {
    const d = copyDemo();
    const { index } = manifestOf(d);
    const [os, architecture] = (process.arch === 's390x' ? 'linux/riscv64' : 'linux/s390x').split('/') as [string, string];
    fs.writeFileSync(join(d, 'index.json'), JSON.stringify({ ...index, manifests: [{ ...index.manifests[0], platform: { os, architecture } }] }));
    const skopeo = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${d}`], { encoding: 'utf8' })) as { Digest: string };
    const image = await openImage(d);
    expect(image.manifestDigest).toBe(skopeo.Digest);
    image.close();
    (await openImage(d, { platform: `${os}/${architecture}` })).close();
    await fails(openImage(d, { platform: 'linux/arm64' }), new RegExp(`no manifest for platform linux/arm64; available: ${os}/${architecture}`));
    // Inside a nested index (one image's platforms) the platform must match, as containerd requires.
    const list = putJson(d, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...index.manifests[0], platform: { os, architecture } }] });
    fs.writeFileSync(join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...list }] }));
    await fails(openImage(d), new RegExp(`no manifest for platform linux/.*; available: ${os}/${architecture}`));
  });

  it('a layer blob that is not a tar is a typed error naming the layer', async () => {
    const d = copyDemo();
    const { manifest } = manifestOf(d);
    const junk = Buffer.from('definitely not a tarball '.repeat(50));
    fs.writeFileSync(join(d, 'blobs', 'sha256', sha(junk)), junk);
    manifest.layers[3] = { ...manifest.layers[3], digest: `sha256:${sha(junk)}`, size: junk.length };
    replaceManifest(d, manifest);
    await expect(openImage(d)).rejects.toThrow(/corrupt or truncated|diff_id mismatch/);
  });

  it('malformed JSON where an index or a docker manifest should be is an ImageError, not a crash', async () => {
    const d = copyDemo();
    fs.writeFileSync(join(d, 'index.json'), 'null');
    await fails(openImage(d), /not an image index/);
    fs.writeFileSync(join(d, 'index.json'), JSON.stringify({ manifests: [{ digest: 42 }] }));
    await fails(openImage(d), /lacks a digest or size/);
    const docker = fs.mkdtempSync(join(tmpdir(), 'lfs-docker-'));
    fs.writeFileSync(join(docker, 'manifest.json'), JSON.stringify([{ Config: 'c.json' }]));
    await fails(openImage(docker), /lacks Config or Layers/);
    fs.rmSync(docker, { recursive: true });
  });

  it('gunzip of the demo layers matches their diff_ids (the fixture itself is consistent)', () => {
    const d = copyDemo();
    const { manifest } = manifestOf(d);
    const config = json(blob(d, manifest.config.digest));
    manifest.layers.forEach((l: { digest: string }, i: number) => {
      expect(`sha256:${sha(gunzipSync(fs.readFileSync(blob(d, l.digest))))}`).toBe(config.rootfs.diff_ids[i]);
    });
  });
});

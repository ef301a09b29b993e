import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { layerChanges } from '../../src/cli/layer-changes.js';
import { ImageError } from '../../src/image/errors.js';
import { openImage } from '../../src/image/image.js';
import { openImageManifest } from '../../src/image/image-manifest.js';
import { MemoryLayer } from '../../src/index.js';
import { layerToTar } from '../support/to-tar.js';
import { writeOciLayout } from '../support/oci-layout.js';

/**
 * openImageManifest (what `inspect` opens) reads the manifest and config only: what it reports
 * is what openImage reports of the same image, field for field, and `inspect --json` is the
 * output the whole image gives, its per-layer counts null unless --changes asks for them.
 */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-image-manifest-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// Four gzip layers with files replaced and deleted between them.
const multi = join(work, 'multi');
const tars: Buffer[] = [];
for (let l = 0; l < 4; l++) {
  const json: Record<string, string> = {};
  for (let i = 0; i < 50; i++) json[`/d${i % 5}/f${i}`] = `layer ${l} file ${i}\n`;
  if (l > 0) json[`/d0/.wh.f${l}`] = '';
  tars.push(gzipSync(await layerToTar(MemoryLayer.fromJSON(json, `L${l}`))));
}
writeOciLayout(multi, tars, 'application/vnd.oci.image.layer.v1.tar+gzip');
const ociArchive = join(work, 'demo-oci.tar');
execFileSync('tar', ['-cf', ociArchive, '-C', DEMO, '.']);
const dockerArchive = join(work, 'demo-docker.tar');
execFileSync('skopeo', ['copy', '--quiet', `oci:${DEMO}:latest`, `docker-archive:${dockerArchive}:demo:latest`], { stdio: 'pipe' });
const images = { 'the bundled image': DEMO, 'four gzip layers': multi, 'an OCI archive': ociArchive, 'a docker save archive': dockerArchive };

/** `layerfs ARGS` run in this process: exit status and stdout. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t.toString()), stderr: (t) => void (stderr += t), stderrIsTTY: false, color: false });
  return { code, stdout, stderr };
}

describe('openImageManifest reports what openImage reports, reading no layer', () => {
  for (const [name, path] of Object.entries(images)) {
    it(name, async () => {
      const whole = await openImage(path);
      const head = await openImageManifest(path);
      try {
        expect(head).toMatchObject({ source: whole.source, format: whole.format, manifest: whole.manifest, config: whole.config, manifestDigest: whole.manifestDigest });
        expect(head.layers).toEqual(whole.layers.map(({ digest, diffId, size, mediaType }) => ({ digest, diffId, size, mediaType })));
        expect(head.layers.map((_, i) => head.createdBy(i))).toEqual(whole.layers.map((_, i) => whole.createdBy(i)));
      } finally {
        whole.close();
      }
    });
  }

  it('inspect --json: the fields of the whole image; entries, added, changed, deleted with --changes only', async () => {
    for (const path of Object.values(images)) {
      const fast = await cli('inspect', path, '--json');
      const full = await cli('inspect', path, '--changes', '--json');
      expect(fast.code, fast.stderr).toBe(0);
      expect(full.code, full.stderr).toBe(0);
      const counted = JSON.parse(full.stdout);
      const nulls = { entries: null, added: null, changed: null, deleted: null };
      expect(JSON.parse(fast.stdout)).toEqual({ ...counted, layers: counted.layers.map((l: object) => ({ ...l, ...nulls })) });
      // The counts are the whole image's, as inspect gave them before it read the manifest only.
      const whole = await openImage(path);
      const changes = layerChanges(whole);
      expect(counted.layers.map((l: { entries: number; added: number; changed: number; deleted: number }) => [l.entries, l.added, l.changed, l.deleted])).toEqual(whole.layers.map((l, i) => [
        l.layer.entries.size,
        changes[i]!.filter((c) => c.kind === 'added').length,
        changes[i]!.filter((c) => c.kind === 'changed').length,
        changes[i]!.filter((c) => c.kind === 'deleted' || c.kind === 'opaque').length,
      ]));
      whole.close();
    }
    const text = (await cli('inspect', multi, '--changes')).stdout;
    expect(text).toMatch(/LAYER +DIGEST +SIZE +ENTRIES +ADDED +CHANGED +DELETED +CREATED BY/);
    expect((await cli('inspect', multi)).stdout).toMatch(/LAYER +DIGEST +SIZE +CREATED BY/);
  });
});

describe('openImageManifest verifies the manifest and config as openImage does', () => {
  const copy = (name: string) => {
    const dir = join(work, name);
    fs.cpSync(DEMO, dir, { recursive: true });
    const index = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    return { dir, index, manifest, blob: (digest: string) => join(dir, 'blobs/sha256', digest.slice(7)) };
  };
  const sameError = async (path: string) => {
    const theirs = await openImage(path).then(() => undefined, (e: unknown) => e);
    const ours = await openImageManifest(path).then(() => undefined, (e: unknown) => e);
    expect(theirs).toBeInstanceOf(ImageError);
    expect((ours as Error).message).toBe((theirs as Error).message);
  };

  it('a changed manifest, a changed config, a missing config or layer blob: the error openImage gives', async () => {
    const m = copy('bad-manifest');
    fs.appendFileSync(m.blob(m.index.manifests[0].digest), ' ');
    await sameError(m.dir);
    const c = copy('bad-config');
    fs.appendFileSync(c.blob(c.manifest.config.digest), ' ');
    await sameError(c.dir);
    const gone = copy('no-config');
    fs.rmSync(gone.blob(gone.manifest.config.digest));
    await sameError(gone.dir);
    const layer = copy('no-layer');
    fs.rmSync(layer.blob(layer.manifest.layers[2].digest));
    await sameError(layer.dir);
  });

  it('a missing layer of an OCI archive is named as openImage names it', async () => {
    const l = copy('archive-no-layer');
    fs.rmSync(l.blob(l.manifest.layers[1].digest));
    const archive = join(work, 'archive-no-layer.tar');
    execFileSync('tar', ['-cf', archive, '-C', l.dir, '.']);
    await sameError(archive);
  });

  it('a corrupt layer blob is not read: openImage refuses it, openImageManifest reports the manifest (as skopeo inspect does)', async () => {
    const l = copy('corrupt-layer');
    const d = l.manifest.layers[1].digest as string;
    const bytes = fs.readFileSync(l.blob(d));
    bytes[bytes.length - 1]! ^= 1;
    fs.writeFileSync(l.blob(d), bytes);
    await expect(openImage(l.dir)).rejects.toThrow(ImageError);
    expect((await openImageManifest(l.dir)).layers[1]!.digest).toBe(d);
    expect(JSON.parse(execFileSync('skopeo', ['inspect', `oci:${l.dir}`], { encoding: 'utf8' })).Layers[1]).toBe(d);
  });
});

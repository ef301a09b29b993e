import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliInScratch } from '../support/cli-binary.js';

/**
 * IMAGE's transport decides how the files are read, as skopeo's does; `export --tar` never
 * writes over a file the image is read from, whatever its name. Compared with skopeo.
 */
const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO = join(REPO, 'images/demo');
const { work, layerfs } = cliInScratch('lfs-cli-transport-');
const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const readJson = (p: string) => JSON.parse(fs.readFileSync(p, 'utf8'));

/**
 * What `docker save` writes since Docker 25: an OCI layout (oci-layout, index.json, blobs)
 * and, beside it, the classic manifest.json naming the same blobs by path.
 */
function dockerSaveWithLayout(target: string): void {
  const dir = join(work, 'docker25');
  fs.cpSync(DEMO, dir, { recursive: true });
  const index = readJson(join(dir, 'index.json'));
  const manifest = readJson(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)));
  const byPath = (d: { digest: string }) => `blobs/sha256/${d.digest.slice(7)}`;
  fs.writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: byPath(manifest.config), RepoTags: ['demo:latest'], Layers: manifest.layers.map(byPath) }]));
  execFileSync('tar', ['-cf', target, '-C', dir, '.']);
}

describe('docker-archive: reads manifest.json, also of an archive that embeds an OCI layout', () => {
  it('Docker 25 save: docker-archive: and its NAME:TAG open it as skopeo does; oci-archive: and the bare path read its layout', () => {
    const archive = join(work, 'docker25.tar');
    dockerSaveWithLayout(archive);
    // RepoTags says demo:latest, as docker save writes the name it was given: the other spellings find it, as skopeo's.
    for (const ref of ['docker-archive:docker25.tar', 'docker-archive:docker25.tar:demo:latest', 'docker-archive:docker25.tar:demo', 'docker-archive:docker25.tar:docker.io/library/demo']) {
      const r = layerfs('inspect', ref, '--json');
      expect(r.code, `${ref}: ${r.stderr}`).toBe(0);
      const ours = JSON.parse(r.stdout);
      expect(ours.format).toBe('docker-archive');
      expect(ours.id).toBe(JSON.parse(skopeo('inspect', '--raw', ref)).config.digest);
      expect(layerfs('cat', ref, '/etc/motd').stdout).toBe('welcome to the layerfs demo\n');
    }
    for (const ref of ['oci-archive:docker25.tar', 'docker25.tar']) {
      const ours = JSON.parse(layerfs('inspect', ref, '--json').stdout);
      expect(ours.format, ref).toBe('oci-archive');
      expect(ours.digest).toBe(JSON.parse(skopeo('inspect', 'oci-archive:docker25.tar')).Digest);
    }
  });
});

describe('inspect of a docker save archive', () => {
  it("a config file not named by its digest still gives the id, its bytes' digest, as skopeo computes it", () => {
    const dir = join(work, 'renamed-config');
    skopeo('copy', '-q', `oci:${DEMO}:latest`, 'docker-archive:renamed.tar:demo:latest');
    fs.mkdirSync(dir);
    execFileSync('tar', ['-xf', join(work, 'renamed.tar'), '-C', dir]);
    const manifest = readJson(join(dir, 'manifest.json'));
    fs.renameSync(join(dir, manifest[0].Config), join(dir, 'config.json'));
    manifest[0].Config = 'config.json';
    fs.writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    execFileSync('tar', ['-cf', join(work, 'renamed-config.tar'), '-C', dir, '.']);
    const r = layerfs('inspect', 'docker-archive:renamed-config.tar', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).id).toBe(JSON.parse(skopeo('inspect', '--raw', 'docker-archive:renamed-config.tar')).config.digest);
  });
});

describe('FILE:TAG without a transport', () => {
  it('a docker RepoTag, which holds a colon itself, is the TAG of FILE:NAME:TAG (docs/cli.md IMAGE)', () => {
    skopeo('copy', '-q', `oci:${DEMO}:latest`, 'docker-archive:tagged.tar:demo:latest');
    for (const ref of ['tagged.tar:demo:latest', 'tagged.tar:docker.io/library/demo:latest']) {
      const r = layerfs('cat', ref, '/etc/motd');
      expect(r, ref).toMatchObject({ code: 0, stdout: 'welcome to the layerfs demo\n', stderr: '' });
    }
    expect(layerfs('cat', 'tagged.tar:other:latest', '/etc/motd')).toMatchObject({ code: 1, stderr: expect.stringMatching(/no image tagged other:latest/) });
  });
});

describe('export --tar refuses every file the image reads from', () => {
  it("a docker save directory's layer file (what skopeo's docker-archive holds, extracted) is refused and kept", () => {
    skopeo('copy', '-q', `oci:${DEMO}:latest`, 'docker-archive:saved.tar:demo:latest');
    const dir = join(work, 'saved');
    fs.mkdirSync(dir);
    execFileSync('tar', ['-xf', join(work, 'saved.tar'), '-C', dir]);
    const layer = join(dir, readJson(join(dir, 'manifest.json'))[0].Layers[0]);
    const before = sha(fs.readFileSync(layer));
    const r = layerfs('export', dir, '--tar', layer);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `layerfs: ${layer}: is the image being exported (one of its files); not written\n` });
    expect(sha(fs.readFileSync(layer))).toBe(before);
    expect(layerfs('cat', dir, '/etc/motd').stdout).toBe('welcome to the layerfs demo\n');
  });

  it("a hard link to a layout's layer blob, outside the layout, is refused and the blob kept", () => {
    const dir = join(work, 'layout');
    fs.cpSync(DEMO, dir, { recursive: true });
    const index = readJson(join(dir, 'index.json'));
    const blob = join(dir, 'blobs/sha256', readJson(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7))).layers[0].digest.slice(7));
    const before = sha(fs.readFileSync(blob));
    const link = join(work, 'other-name.tar');
    fs.linkSync(blob, link);
    expect(layerfs('export', dir, '--tar', link)).toMatchObject({ code: 1, stderr: `layerfs: ${link}: is the image being exported (one of its files); not written\n` });
    expect(sha(fs.readFileSync(blob))).toBe(before);
  });
});

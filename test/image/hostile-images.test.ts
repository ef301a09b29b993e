import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageError, openImage } from '../../src/index.js';
import { packTar, type PackEntry } from '../support/to-tar.js';

/**
 * Images whose parts are not what they claim: layer blobs of a type that is not a filesystem
 * layer, compression that disagrees with the media type, foreign layers, unsupported layout
 * versions and rootfs types, manifests and indexes swapped, and links inside docker save
 * archives. Each is an ImageError naming the file or blob, or opens as real tools open it.
 */
const root = fs.mkdtempSync(join(tmpdir(), 'lfs-hostile-img-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(root, `${n++}`);
  fs.mkdirSync(d);
  return d;
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const TAR = 'application/vnd.oci.image.layer.v1.tar';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

const layerTar = (name: string, body: string) => packTar([{ header: { name, mode: 0o644 }, body }]);
const zstd = (data: Buffer) => execFileSync('zstd', ['-q', '-c'], { input: data });

interface LayerSpec {
  /** The uncompressed tar. */
  tar: Buffer;
  /** The stored bytes (the tar itself by default). */
  blob?: Buffer;
  mediaType?: string;
  urls?: string[];
  /** Leave the blob out of the layout. */
  absent?: boolean;
}

interface LayoutSpec {
  layers: LayerSpec[];
  layoutVersion?: unknown;
  config?: Record<string, unknown>;
  configMediaType?: string;
  manifest?: Record<string, unknown>;
  /** The index.json descriptor of the manifest: its mediaType (or none). */
  manifestDescriptorType?: string | null;
}

/** Writes an OCI image layout as `spec` says, wrong where it says. */
function layout(spec: LayoutSpec): string {
  const dir = fresh();
  fs.mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (data: Buffer, store = true) => {
    if (store) fs.writeFileSync(join(dir, 'blobs', 'sha256', sha(data)), data);
    return { digest: `sha256:${sha(data)}`, size: data.length };
  };
  const layers = spec.layers.map((l) => ({ mediaType: l.mediaType ?? TAR, ...put(l.blob ?? l.tar, !l.absent), ...(l.urls ? { urls: l.urls } : {}) }));
  const config = put(Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: {},
    rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => `sha256:${sha(l.tar)}`) },
    ...spec.config,
  })));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: spec.configMediaType ?? OCI_CONFIG, ...config }, layers,
    ...spec.manifest,
  })));
  const descType = spec.manifestDescriptorType === undefined ? OCI_MANIFEST : spec.manifestDescriptorType;
  fs.writeFileSync(join(dir, 'oci-layout'), JSON.stringify(spec.layoutVersion === undefined ? { imageLayoutVersion: '1.0.0' } : { imageLayoutVersion: spec.layoutVersion }));
  fs.writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...(descType ? { mediaType: descType } : {}), ...manifest }] }));
  return dir;
}

const refused = async (p: Promise<unknown>, message: RegExp) => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, 'should be refused').toBeInstanceOf(ImageError);
  expect((e as Error).message).toMatch(message);
};

describe('layer media types', () => {
  it('a blob whose type is not a filesystem layer is refused, naming the blob and the type (it was applied by sniffing its bytes)', async () => {
    const tar = await layerTar('chart/Chart.yaml', 'name: x');
    for (const mediaType of ['application/vnd.example.vendor.thing.v1.tar+gzip', 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', 'application/octet-stream']) {
      const blob = mediaType.endsWith('gzip') ? gzipSync(tar) : tar;
      await refused(openImage(layout({ layers: [{ tar, blob, mediaType }] })), new RegExp(`layer sha256:${sha(blob)}: not a filesystem layer \\(mediaType ${mediaType.replace(/[.+]/g, '\\$&')}\\)`));
    }
  });

  it('an encrypted layer (+encrypted, ocicrypt) is refused, saying so', async () => {
    const tar = await layerTar('secret', 's');
    const blob = gzipSync(tar);
    await refused(openImage(layout({ layers: [{ tar, blob, mediaType: `${GZIP}+encrypted` }] })), new RegExp(`layer sha256:${sha(blob)}: an encrypted layer .*decrypt the image first`));
  });

  it('a Helm chart (an artifact: its config is not an image config) is refused', async () => {
    const tar = await layerTar('chart/Chart.yaml', 'name: x');
    await refused(openImage(layout({ layers: [{ tar, blob: gzipSync(tar), mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip' }], configMediaType: 'application/vnd.cncf.helm.config.v1+json' })), /not an image config \(mediaType application\/vnd\.cncf\.helm\.config\.v1\+json\)/);
  });

  it('every layer type of OCI and Docker opens when the bytes agree with it', async () => {
    const tars = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((x) => layerTar(x, x)));
    const image = await openImage(layout({ layers: [
      { tar: tars[0]!, mediaType: TAR },
      { tar: tars[1]!, blob: gzipSync(tars[1]!), mediaType: GZIP },
      { tar: tars[2]!, blob: zstd(tars[2]!), mediaType: ZSTD },
      { tar: tars[3]!, blob: gzipSync(tars[3]!), mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' },
      { tar: tars[4]!, mediaType: 'application/vnd.docker.image.rootfs.diff.tar' },
    ] }));
    expect(image.overlay().readdirSync('/')).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('an uncompressed tar under a compressed media type is read, and recorded (dockerd and containerd apply such layers; podman#2013 wrote them)', async () => {
    const tars = await Promise.all(['a', 'b', 'c'].map((x) => layerTar(x, x)));
    const image = await openImage(layout({ layers: [
      { tar: tars[0]!, mediaType: GZIP },
      { tar: tars[1]!, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' },
      { tar: tars[2]!, blob: zstd(tars[2]!), mediaType: ZSTD },
    ] }));
    expect(image.layers.map((l) => l.mediaTypeMismatch)).toEqual([{ says: 'gzip', blob: 'none' }, { says: 'gzip', blob: 'none' }, undefined]);
    expect(image.overlay().readFileSync('/b', 'utf8')).toBe('b');
    // umoci trusts the type, and fails to read it: an error, never other bytes.
    const dir = layout({ layers: [{ tar: tars[0]!, mediaType: GZIP }] });
    const index = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
    index.manifests[0].annotations = { 'org.opencontainers.image.ref.name': 'latest' };
    fs.writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    const umoci = spawnSync('umoci', ['unpack', '--image', `${dir}:latest`, join(fresh(), 'bundle')], { encoding: 'utf8' });
    expect(umoci.status).not.toBe(0);
    expect(umoci.stderr).toMatch(/gzip/);
  });

  it('other compression that disagrees with the media type is refused (the blob could be read as its type says or as its bytes say)', async () => {
    const tar = await layerTar('f', 'f');
    const cases: Array<[Buffer, string, RegExp]> = [
      [gzipSync(tar), TAR, /says uncompressed, the blob is gzip/],
      [gzipSync(tar), ZSTD, /says zstd, the blob is gzip/],
      [zstd(tar), GZIP, /says gzip, the blob is zstd/],
    ];
    for (const [blob, mediaType, message] of cases) await refused(openImage(layout({ layers: [{ tar, blob, mediaType }] })), message);
  });

  it('a non-distributable (foreign) layer is used when its blob is there, and names its URLs when it is not', async () => {
    const tar = await layerTar('windows/base', 'w');
    const blob = gzipSync(tar);
    for (const mediaType of ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip']) {
      const urls = ['https://example.invalid/base.tar.gz', 'https://mirror.example.invalid/base.tar.gz'];
      const present = await openImage(layout({ layers: [{ tar, blob, mediaType, urls }] }));
      expect(present.overlay().readFileSync('/windows/base', 'utf8')).toBe('w');
      await refused(openImage(layout({ layers: [{ tar, blob, mediaType, urls, absent: true }] })), new RegExp(`layer sha256:${sha(blob)}: a non-distributable layer .* whose blob is not in the image; its descriptor names https://example.invalid/base.tar.gz, https://mirror.example.invalid/base.tar.gz`));
    }
  });
});

describe('layout, config and document types', () => {
  it('an oci-layout with an unsupported imageLayoutVersion is refused', async () => {
    const tar = await layerTar('f', 'f');
    for (const version of ['2.0.0', '1.0', 1, null]) {
      await refused(openImage(layout({ layers: [{ tar }], layoutVersion: version })), /oci-layout: unsupported imageLayoutVersion .*: layerfs reads 1\.0\.0/);
    }
  });

  it('a config whose rootfs.type is not "layers" is refused', async () => {
    const tar = await layerTar('f', 'f');
    await refused(openImage(layout({ layers: [{ tar }], config: { rootfs: { type: 'zfs', diff_ids: [`sha256:${sha(tar)}`] } } })), /config sha256:[0-9a-f]{64}: rootfs\.type is "zfs", not "layers"/);
  });

  it('an index referenced as a manifest is refused, and a manifest referenced as an index', async () => {
    const tar = await layerTar('f', 'f');
    // index.json names the image's manifest as an index.
    await refused(openImage(layout({ layers: [{ tar }], manifestDescriptorType: OCI_INDEX })), /index sha256:[0-9a-f]{64}: the descriptor says application\/vnd\.oci\.image\.index\.v1\+json, the blob's own mediaType is application\/vnd\.oci\.image\.manifest\.v1\+json/);
    // The same without the blob's own mediaType: its shape says manifest.
    await refused(openImage(layout({ layers: [{ tar }], manifestDescriptorType: OCI_INDEX, manifest: { mediaType: undefined } })), /referenced as an image index, but the blob is an image manifest/);
    // A manifest descriptor whose blob is an index (with or without its own mediaType).
    const d = layout({ layers: [{ tar }] });
    const innerIndex = fs.readFileSync(join(d, 'index.json'));
    for (const doc of [JSON.parse(innerIndex.toString()), { ...JSON.parse(innerIndex.toString()), mediaType: OCI_INDEX }]) {
      const data = Buffer.from(JSON.stringify(doc));
      fs.writeFileSync(join(d, 'blobs', 'sha256', sha(data)), data);
      fs.writeFileSync(join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, digest: `sha256:${sha(data)}`, size: data.length }] }));
      await refused(openImage(d), /manifest sha256:[0-9a-f]{64}: (referenced as an image manifest, but the blob is an image index|the descriptor says application\/vnd\.oci\.image\.manifest\.v1\+json, the blob's own mediaType is application\/vnd\.oci\.image\.index\.v1\+json)/);
    }
  });

  it('a manifest descriptor of another type (an artifact manifest) and a schema 1 manifest are refused', async () => {
    const tar = await layerTar('f', 'f');
    await refused(openImage(layout({ layers: [{ tar }], manifestDescriptorType: 'application/vnd.oci.artifact.manifest.v1+json' })), /not an image manifest or index \(mediaType application\/vnd\.oci\.artifact\.manifest\.v1\+json\)/);
    await refused(openImage(layout({ layers: [{ tar }], manifest: { schemaVersion: 1 } })), /schemaVersion 1: an image manifest has schemaVersion 2/);
  });
});

describe('links inside a docker save archive', () => {
  /** A classic docker save archive of one image whose layers are `paths`, plus `extra` entries. */
  async function dockerArchive(paths: string[], tar: Buffer, extra: PackEntry[]): Promise<string> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: paths.map(() => `sha256:${sha(tar)}`) } }));
    const file = join(fresh(), 'image.tar');
    fs.writeFileSync(file, await packTar([
      { header: { name: 'manifest.json' }, body: JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: ['x:latest'], Layers: paths }]) },
      { header: { name: `${sha(config)}.json` }, body: config },
      { header: { name: 'aaa/layer.tar' }, body: tar },
      ...extra,
    ]));
    return file;
  }
  const symlink = (name: string, linkname: string): PackEntry => ({ header: { name, type: 'symlink', linkname } });

  it('a repeated layer stored as a symlink to the first copy opens, as docker save writes it', async () => {
    const tar = await layerTar('f', 'shared');
    const image = await openImage(await dockerArchive(['aaa/layer.tar', 'bbb/layer.tar'], tar, [symlink('bbb/layer.tar', '../aaa/layer.tar')]));
    expect(image.layers.map((l) => l.diffId)).toEqual([`sha256:${sha(tar)}`, `sha256:${sha(tar)}`]);
    expect(image.overlay().readFileSync('/f', 'utf8')).toBe('shared');
    expect(await image.layerBlob(1)).toEqual(tar);
    // A hard link in the archive is read the same way.
    const hard = await openImage(await dockerArchive(['aaa/layer.tar', 'ccc/layer.tar'], tar, [{ header: { name: 'ccc/layer.tar', type: 'link', linkname: 'aaa/layer.tar' } }]));
    expect(hard.layers).toHaveLength(2);
  });

  it('a link leaving the archive, a chain or loop, a link to nothing, or a path through a linked directory is an ImageError naming the link', async () => {
    const tar = await layerTar('f', 'f');
    const cases: Array<[string[], PackEntry[], RegExp]> = [
      [['aaa/layer.tar', 'bbb/layer.tar'], [symlink('bbb/layer.tar', '../../etc/passwd')], /bbb\/layer\.tar: a symlink to \.\.\/\.\.\/etc\/passwd, outside the archive/],
      [['aaa/layer.tar', 'bbb/layer.tar'], [symlink('bbb/layer.tar', '/etc/passwd')], /bbb\/layer\.tar: a symlink to \/etc\/passwd, outside the archive/],
      [['bbb/layer.tar'], [symlink('bbb/layer.tar', '../ccc/layer.tar'), symlink('ccc/layer.tar', '../bbb/layer.tar')], /bbb\/layer\.tar: a symlink to \.\.\/ccc\/layer\.tar, which is a link itself/],
      [['bbb/layer.tar'], [symlink('bbb/layer.tar', '../ccc/layer.tar'), symlink('ccc/layer.tar', '../aaa/layer.tar')], /which is a link itself: chains \(and loops\) are not followed/],
      [['bbb/layer.tar'], [symlink('bbb/layer.tar', 'layer.tar')], /which is a link itself/],
      [['bbb/layer.tar'], [symlink('bbb/layer.tar', '../nothing/layer.tar')], /which the archive does not hold as a file/],
      [['ddd/layer.tar'], [symlink('ddd', 'aaa')], /ddd\/layer\.tar: the path goes through ddd, a link/],
    ];
    for (const [paths, extra, message] of cases) await refused(openImage(await dockerArchive(paths, tar, extra)), message);
  });
});

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageError, openImage, TarLayer, TarLayerError } from '../../src/index.js';

/**
 * A blob must be a regular file: its size bounds every read. A link to /dev/zero where a blob
 * should be was read until maxBytes (4 GiB, 13 s); a FIFO made the open wait for a writer.
 * Both are refused before a byte is read.
 */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');
let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function demoCopy(): { root: string; index: { manifests: Array<{ digest: string }> } } {
  dir = fs.mkdtempSync(join(tmpdir(), 'lfs-device-'));
  const root = join(dir, 'image');
  fs.cpSync(DEMO, root, { recursive: true });
  return { root, index: JSON.parse(fs.readFileSync(join(root, 'index.json'), 'utf8')) };
}
const blobFile = (root: string, digest: string) => join(root, 'blobs/sha256', digest.slice('sha256:'.length));
function manifest(root: string, index: { manifests: Array<{ digest: string }> }) {
  return JSON.parse(fs.readFileSync(blobFile(root, index.manifests[0]!.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
}

describe('a device or FIFO where a blob should be', () => {
  it('TarLayer.from refuses a device path at once, naming what it is', async () => {
    await expect(TarLayer.from('/dev/zero')).rejects.toThrow(TarLayerError);
    await expect(TarLayer.from('/dev/zero')).rejects.toThrow(/character device/);
  });

  it('a layer blob that links to /dev/zero: ImageError naming the blob, before reading it', async () => {
    const { root, index } = demoCopy();
    const layer = manifest(root, index).layers[1]!.digest;
    fs.rmSync(blobFile(root, layer));
    fs.symlinkSync('/dev/zero', blobFile(root, layer));
    const opened = openImage(root);
    await expect(opened).rejects.toThrow(ImageError);
    await expect(opened).rejects.toThrow(new RegExp(`${layer}.*character device`));
  });

  it('a layer blob that is a FIFO: refused, not waited on', async () => {
    const { root, index } = demoCopy();
    const layer = manifest(root, index).layers[0]!.digest;
    fs.rmSync(blobFile(root, layer));
    execFileSync('mkfifo', [blobFile(root, layer)]);
    await expect(openImage(root)).rejects.toThrow(/FIFO/);
  }, 10_000);

  it('a config blob (JSON, read whole) that links to /dev/zero or is a FIFO: ImageError, not read', async () => {
    const { root, index } = demoCopy();
    const digest = manifest(root, index).config.digest;
    const config = blobFile(root, digest);
    const refused = new RegExp(`${digest.slice('sha256:'.length)}: not a regular file`);
    fs.rmSync(config);
    fs.symlinkSync('/dev/zero', config);
    await expect(openImage(root)).rejects.toThrow(refused);
    fs.rmSync(config);
    execFileSync('mkfifo', [config]);
    await expect(openImage(root)).rejects.toThrow(refused);
  }, 10_000);
});

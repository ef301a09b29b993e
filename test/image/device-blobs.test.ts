import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageError, openImage, TarLayer, TarLayerError } from '../../src/index.js';

/**
 * A blob must be a regular file: its size bounds every read. A link to /dev/zero where a blob
 * should be would be read until maxBytes; a FIFO's open would wait for a writer, or wake one.
 * Both are refused before they are opened for reading.
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

  it('a file whose fstat says 0 bytes but that reads more (/proc): refused as changed while read, never read as empty', async () => {
    await expect(TarLayer.from('/proc/self/status')).rejects.toThrow(/changed while it was read/);
    // The streaming pass reads the byte past the size too (and finds no archive in it).
    await expect(TarLayer.from('/proc/self/status', { content: 'memory' })).rejects.toThrow(TarLayerError);
    const { root } = demoCopy();
    fs.rmSync(join(root, 'index.json'));
    fs.symlinkSync('/proc/self/status', join(root, 'index.json'));
    await expect(openImage(root)).rejects.toThrow(/index.json: changed while it was read \(0 bytes by fstat, more read\)/);
  });

  it('a FIFO is never opened, only looked at (O_PATH): a writer waiting for a reader keeps waiting', async () => {
    const { root, index } = demoCopy();
    const layer = blobFile(root, manifest(root, index).layers[0]!.digest);
    const config = blobFile(root, manifest(root, index).config.digest);
    for (const [what, path, open] of [
      ['TarLayer.from', join(dir!, 'fifo'), (p: string) => TarLayer.from(p)],
      ['a layer blob', layer, () => openImage(root)],
      ['the config blob', config, () => openImage(root)],
    ] as const) {
      fs.rmSync(path, { force: true });
      execFileSync('mkfifo', [path]);
      const writer = await waitingWriter(path);
      try {
        await expect(open(path), what).rejects.toThrow(/FIFO/);
        await new Promise((resolve) => setTimeout(resolve, 300)); // a writer let through exits at once
        expect(writer.opened(), what).toBe(false);
      } finally {
        writer.stop();
      }
      fs.rmSync(path);
      if (path !== join(dir!, 'fifo')) fs.cpSync(join(DEMO, 'blobs/sha256', path.split('/').pop()!), path);
    }
  }, 10_000);
});

/**
 * A process opening `fifo` for writing, which blocks until some process opens it for reading
 * (fifo(7)), as open(2) of the read end does even with O_NONBLOCK. Resolves once it waits
 * there (its wchan is the FIFO open's wait_for_partner).
 */
async function waitingWriter(fifo: string): Promise<{ opened: () => boolean; stop: () => void }> {
  const child = spawn('sh', ['-c', 'exec 3>"$1"; echo opened', 'sh', fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  let opened = false;
  child.stdout.on('data', () => void (opened = true));
  const wchan = () => fs.readFileSync(`/proc/${child.pid}/wchan`, 'utf8');
  for (let i = 0; i < 500 && wchan() !== 'wait_for_partner'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(wchan()).toBe('wait_for_partner');
  return { opened: () => opened, stop: () => void child.kill() };
}

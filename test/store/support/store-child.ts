/**
 * A content store writer in its own process, for test/store/concurrency.test.ts: two race on
 * one store, a gc loop runs beside them, one is killed mid-ingest. Bundled by esbuild
 * (bundleStoreChild). Prints JSON lines on stdout.
 *
 * argv:
 * - `pull DIR NAME TAGS BARRIER`: writes BARRIER/NAME and waits until BARRIER holds two names
 *   (both pulls then start together), then, under a lease, ingests the shared blob (the same
 *   bytes in every child; slowly, so both are writing it at once), a blob of its own, a config and a manifest, waits half a second (what it wrote is
 *   then held only by its lease), then tags TAGS refs NAME-0 ... one index.json update each;
 * - `gc DIR STOP`: runs gc over and over until the file STOP exists;
 * - `slow DIR SIZE`: ingests SIZE bytes slowly, printing `started` after the first chunk;
 * - `open DIR DIGEST BARRIER`: writes BARRIER/<pid> and waits until BARRIER holds two names,
 *   then opens the stored layer DIGEST (openStoredLayer: verify once) and prints whether it came
 *   from the saved index and the sha256 of every path and file content, in order.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openContentStore } from '../../../src/store/directory-store.js';
import { openStoredLayer } from '../../../src/store/layer-index.js';
import { bytesOf } from './bytes-of.js';

const [mode, dir, arg1, arg2, arg3] = process.argv.slice(2) as [string, string, string, string?, string?];
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const say = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

async function* inChunks(data: Buffer, pause = 0, chunk = 256 * 1024) {
  for (let at = 0; at < data.length; at += chunk) {
    yield data.subarray(at, at + chunk);
    await sleep(pause);
  }
}

try {
  const store = await openContentStore(dir);
  if (mode === 'pull') {
    writeFileSync(join(arg3!, arg1), '');
    while (readdirSync(arg3!).length < 2) await sleep(5);
    const lease = await store.lease();
    const written: Record<string, boolean> = {};
    const ingest = async (mediaType: string, data: Buffer, pause = 0) => {
      const desc = { mediaType, digest: sha256(data), size: data.length };
      written[desc.digest] = (await store.ingest(desc, inChunks(data, pause), { lease })).written;
      return desc;
    };
    const shared = await ingest('application/vnd.oci.image.layer.v1.tar', bytesOf('shared', 8 * 2 ** 20), 25);
    const own = await ingest('application/vnd.oci.image.layer.v1.tar', bytesOf(arg1, 2 * 2 ** 20));
    const config = await ingest('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux', config: { Labels: { writer: arg1 } },
      rootfs: { type: 'layers', diff_ids: [shared.digest, own.digest] },
    })));
    const manifest = await ingest('application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [shared, own],
    })));
    // Untagged, held only by the lease, while the gc beside it runs.
    await sleep(500);
    for (let i = 0; i < Number(arg2); i++) await store.tag(`${arg1}-${i}`, manifest);
    await lease.release();
    say({ ok: true, manifest: manifest.digest, written });
  } else if (mode === 'gc') {
    let runs = 0;
    let removed = 0;
    while (!existsSync(arg1)) {
      removed += (await store.gc()).removed.length;
      runs++;
    }
    say({ ok: true, runs, removed });
  } else if (mode === 'open') {
    writeFileSync(join(arg2!, String(process.pid)), '');
    while (readdirSync(arg2!).length < 2) await sleep(5);
    const { layer, fromIndex } = await openStoredLayer(store, arg1);
    const hash = createHash('sha256');
    for (const [path, e] of layer.entries) {
      hash.update(path);
      if (e.type === 'file') hash.update(layer.read(e));
    }
    layer.close();
    say({ ok: true, fromIndex, content: hash.digest('hex') });
  } else if (mode === 'slow') {
    const data = bytesOf('slow', Number(arg1));
    async function* slowly() {
      yield data.subarray(0, 65536);
      say('started');
      for (let at = 65536; at < data.length; at += 65536) {
        await sleep(50);
        yield data.subarray(at, at + 65536);
      }
    }
    await store.ingest({ digest: sha256(data), size: data.length }, slowly());
    say({ ok: true });
  }
} catch (e) {
  const err = e as Error & { code?: string };
  say({ ok: false, name: err.name, code: err.code, message: err.message });
}

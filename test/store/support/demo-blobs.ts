import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContentStore, Lease, StoreDescriptor } from '../../../src/store/content-store.js';

/** The bundled demo image (images/demo), and a second image made from it that shares its base layer. */
export const DEMO = fileURLToPath(new URL('../../../images/demo', import.meta.url));
const blobFile = (digest: string) => join(DEMO, 'blobs', 'sha256', digest.slice('sha256:'.length));

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Manifest {
  config: StoreDescriptor;
  layers: StoreDescriptor[];
}

const demoIndex = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')) as { manifests: StoreDescriptor[] };
export const demoManifestDesc: StoreDescriptor = { mediaType: OCI_MANIFEST, digest: demoIndex.manifests[0]!.digest, size: demoIndex.manifests[0]!.size };
const demoManifest = JSON.parse(fs.readFileSync(blobFile(demoManifestDesc.digest), 'utf8')) as Manifest;

/** A blob: its descriptor and where its bytes come from. */
export interface TestBlob {
  desc: StoreDescriptor;
  bytes: () => Buffer;
}

const fromDemo = (d: StoreDescriptor): TestBlob => ({ desc: d, bytes: () => fs.readFileSync(blobFile(d.digest)) });
const inMemory = (mediaType: string, data: Buffer): TestBlob => ({ desc: { mediaType, digest: sha256(data), size: data.length }, bytes: () => data });

/** The demo image's blobs, layers first and the manifest last (the order a pull writes them). */
export function demoImage(): { blobs: TestBlob[]; manifest: StoreDescriptor } {
  return { blobs: [...demoManifest.layers.map(fromDemo), fromDemo(demoManifest.config), fromDemo(demoManifestDesc)], manifest: demoManifestDesc };
}

/** An image of the demo's first `n` layers, its config's diff_ids cut to match: it shares those layers with the demo. */
export function baseImage(n = 2, label = 'base'): { blobs: TestBlob[]; manifest: StoreDescriptor } {
  const config = JSON.parse(fs.readFileSync(blobFile(demoManifest.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] }; history?: unknown[]; config?: Record<string, unknown> };
  config.rootfs.diff_ids = config.rootfs.diff_ids.slice(0, n);
  delete config.history;
  config.config = { ...(config.config ?? {}), Labels: { made: label } };
  const configBlob = inMemory(demoManifest.config.mediaType, Buffer.from(JSON.stringify(config)));
  const layers = demoManifest.layers.slice(0, n);
  const manifestBlob = inMemory(OCI_MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configBlob.desc, layers })));
  return { blobs: [...layers.map(fromDemo), configBlob, manifestBlob], manifest: manifestBlob.desc };
}

/** A body of `data` in chunks of `chunk` bytes. */
export async function* chunks(data: Buffer, chunk = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += chunk) yield data.subarray(at, at + chunk);
}

/** Ingests every blob of an image, then tags it `ref`. */
export async function put(store: ContentStore, image: { blobs: TestBlob[]; manifest: StoreDescriptor }, ref: string, lease?: Lease): Promise<void> {
  for (const b of image.blobs) await store.ingest(b.desc, chunks(b.bytes()), lease ? { lease } : {});
  await store.tag(ref, image.manifest);
}

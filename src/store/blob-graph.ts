import { isIndex, isManifest } from '../oci/media-types.js';
import type { StoreDescriptor, StoredImage, StoreImages } from './content-store.js';
import { REF_NAME } from './content-store.js';
import { parseDigest } from './digest.js';
import { StoreError } from './errors.js';

// What an index entry reaches (image-index.md, manifest.md): an index its manifests, a
// manifest its config and layers. The walk gc marks with and images() sizes with.

/** The largest manifest or index read (containerd's and distribution's limit is 4 MiB). */
export const MANIFEST_MAX = 4 * 2 ** 20;
/** How deep indexes may nest (an index of indexes is one level; real ones are one or two). */
const MAX_DEPTH = 8;

/** What the walk asks of a store: a stored blob's size (undefined when absent), and its bytes. */
export interface BlobLookup {
  label: string;
  sizeOf(digest: string): Promise<number | undefined>;
  read(digest: string, maxBytes: number): Promise<Buffer>;
}

interface Reached {
  /** Every stored blob reached, with its size. */
  blobs: Map<string, number>;
  missing: Set<string>;
  /** Of the missing, those an image needs: the root, or a manifest's config or layer (not an index's other platforms). */
  needed: Set<string>;
}

/** The descriptors a manifest or index blob names, and whether it is an index. */
export function childrenOf(desc: { mediaType?: string; digest: string }, data: Buffer, where: string): { children: StoreDescriptor[]; index: boolean } {
  let json: { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown } | null;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw new StoreError('ERR_STORE_BAD_MANIFEST', where, `${desc.mediaType ?? 'a manifest'} that is not JSON`, desc.digest);
  }
  if (!json || typeof json !== 'object') throw new StoreError('ERR_STORE_BAD_MANIFEST', where, 'a manifest that is not a JSON object', desc.digest);
  const list: unknown[] = [];
  if (Array.isArray(json.manifests)) list.push(...json.manifests);
  if (json.config !== undefined) list.push(json.config);
  if (Array.isArray(json.layers)) list.push(...json.layers);
  if (list.length === 0) throw new StoreError('ERR_STORE_BAD_MANIFEST', where, 'neither an index (manifests) nor a manifest (config, layers)', desc.digest);
  const children = list.map((d) => {
    const c = d as StoreDescriptor | null;
    if (!c || typeof c !== 'object' || typeof c.size !== 'number') throw new StoreError('ERR_STORE_BAD_MANIFEST', where, 'names a descriptor without a digest and size', desc.digest);
    parseDigest(c.digest, `${where}: ${desc.digest}`);
    return c;
  });
  return { children, index: Array.isArray(json.manifests) };
}

/** Whether a blob is walked into: its descriptor says manifest or index (an entry of index.json always is). */
const walked = (d: { mediaType?: string }, top: boolean) => top || isIndex(d.mediaType) || isManifest(d.mediaType);

/** Every stored blob `root` reaches (itself included), and the digests it names that are absent. */
export async function reach(root: StoreDescriptor, store: BlobLookup): Promise<Reached> {
  const out: Reached = { blobs: new Map(), missing: new Set(), needed: new Set() };
  const stack: Array<{ d: StoreDescriptor; depth: number; needed: boolean }> = [{ d: root, depth: 0, needed: true }];
  while (stack.length > 0) {
    const { d, depth, needed } = stack.pop()!;
    if (out.blobs.has(d.digest) || out.missing.has(d.digest)) continue;
    const size = await store.sizeOf(d.digest);
    if (size === undefined) {
      out.missing.add(d.digest);
      if (needed) out.needed.add(d.digest);
      continue;
    }
    out.blobs.set(d.digest, size);
    if (!walked(d, depth === 0)) continue;
    if (depth >= MAX_DEPTH) throw new StoreError('ERR_STORE_BAD_MANIFEST', store.label, `indexes nested more than ${MAX_DEPTH} deep`, d.digest);
    const { children, index } = childrenOf(d, await store.read(d.digest, MANIFEST_MAX), store.label);
    for (const c of children) stack.push({ d: c, depth: depth + 1, needed: !index });
  }
  return out;
}

/** images(): each ref's reach, its bytes, the bytes only it reaches, and the union's. */
export async function summarize(entries: readonly StoreDescriptor[], store: BlobLookup): Promise<StoreImages> {
  const per = await Promise.all(entries.map(async (m) => ({ m, r: await reach(m, store) })));
  const users = new Map<string, number>();
  const all = new Map<string, number>();
  for (const { r } of per) {
    for (const [digest, size] of r.blobs) {
      users.set(digest, (users.get(digest) ?? 0) + 1);
      all.set(digest, size);
    }
  }
  const images: StoredImage[] = per.map(({ m, r }) => {
    let bytes = 0;
    let uniqueBytes = 0;
    for (const [digest, size] of r.blobs) {
      bytes += size;
      if (users.get(digest) === 1) uniqueBytes += size;
    }
    return { ref: m.annotations?.[REF_NAME] ?? '', manifest: m, bytes, uniqueBytes, missing: [...r.missing].sort() };
  });
  let totalBytes = 0;
  for (const size of all.values()) totalBytes += size;
  return { images, totalBytes };
}

/** gc's mark: every stored blob some entry reaches. */
export async function marked(entries: readonly StoreDescriptor[], store: BlobLookup): Promise<Set<string>> {
  const live = new Set<string>();
  for (const m of entries) for (const digest of (await reach(m, store)).blobs.keys()) live.add(digest);
  return live;
}

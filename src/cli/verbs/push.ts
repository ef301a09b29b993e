import * as fs from 'node:fs';
import { push } from '../../registry/push.js';
import { formatReference, parseReference } from '../../registry/reference.js';
import type { ContentStore } from '../../store/content-store.js';
import { blobsJson, imageJson } from '../blob-json.js';
import { CREDENTIAL_FLAGS, CREDENTIAL_NOTE, credentialsFromFlags } from '../credentials.js';
import { parseImageRef, registryRefArg } from '../image-ref.js';
import { CliError, bytes } from '../io.js';
import { INSECURE_FLAG, STORE_FLAG, openExistingStore, storeDir } from '../store-dir.js';
import { emitJson, out, type Flags, type Invocation, type Verb } from '../verb.js';

export const pushVerb: Verb = {
  takes: 'positionals',
  usage: 'push IMAGE REF [--store DIR] [--creds USER:PASS] [--authfile FILE] [--insecure] [--chunk-size N] [--from REPO]',
  summary: 'send an image to a registry: only the blobs it lacks (mounted from another repository of it when it can be), each checked against its digest as it is read, the manifest and tag last',
  options: {
    ...STORE_FLAG,
    ...CREDENTIAL_FLAGS,
    ...INSECURE_FLAG,
    'chunk-size': { type: 'string', value: 'N', help: 'blobs larger than N bytes go in PATCH chunks of N (K, M, G: KiB, MiB, GiB); default 64M, each smaller blob in one PUT' },
    from: { type: 'string', value: 'REPO', help: "a repository of the same registry to mount blobs from (default: the store ref's, when the image was pulled from this registry)" },
  },
  maxPositionals: 2,
  notes: [
    "IMAGE is an OCI layout (DIR, DIR:TAG, oci:DIR[:TAG]) or an image of the content store by its ref (what `layerfs images` lists: the full reference it was pulled as, such as 127.0.0.1:5000/demo:latest; a short one is completed by docker's rules). REF is host[:port]/repo[:tag][@sha256:...] (or docker://REF): a digest must be the image's; a multi-platform index is pushed whole, its manifests by digest first.",
    CREDENTIAL_NOTE,
    '--json: {reference, source, digest, mediaType, size, pushed: [{digest, size, mediaType}], mounted: [...], present: [...], from (the repository mounted from, or null), bytes (the bytes sent: blobs uploaded and manifests)} (docs/cli.md).',
  ],
  refuseEarly: (flags) => {
    if (flags.platform !== undefined) throw new CliError('push: --platform is not taken: an image is pushed whole (an index with every manifest)', 2);
    const from = flags.from;
    if (from !== undefined && (typeof from !== 'string' || from === '' || /[:@]/.test(from))) {
      throw new CliError(`push: --from takes a repository of the same registry (team/app), without a tag or digest, not ${JSON.stringify(from)}`, 2);
    }
  },
  run: pushImage,
};

const UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** --chunk-size: a whole number of bytes, or with K, M, G (KiB, MiB, GiB). */
function chunkSize(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = typeof value === 'string' ? /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim()) : null;
  const n = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`push: --chunk-size takes a number of bytes >= 1 (such as 65536, 64K or 16M), not ${JSON.stringify(value)}`, 2);
  return n;
}

/** IMAGE as push reads it: an OCI layout with its tag, or a ref of the content store. */
async function source(arg: string, flags: Flags): Promise<{ from: ContentStore | string; ref?: string; label: string }> {
  const image = parseImageRef(arg);
  if ('path' in image && image.format !== undefined && image.format !== 'oci-layout') throw new CliError(`push: ${arg}: push reads an OCI layout or the content store; save the archive as a layout first (skopeo copy ${arg} oci:DIR)`, 2);
  if ('path' in image) {
    if (!fs.statSync(image.path, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`push: ${image.path}: not a directory: push reads an OCI layout (an archive: save it as a layout first)`);
    return { from: image.path, ...(image.tag !== undefined ? { ref: image.tag } : {}), label: image.path };
  }
  const dir = storeDir(flags);
  const store = await openExistingStore(dir);
  if (!store) throw new CliError(`push: ${arg}: no such file or directory, and no content store at ${dir} to find it in`);
  const refs = new Set((await store.images()).images.map((i) => i.ref));
  // A REF (docker://REF or a bare one): the store's image of that reference.
  const named = registryRefArg(image.target)!;
  let ref = named;
  if (!refs.has(ref)) {
    try {
      ref = formatReference(parseReference(named));
    } catch {
      // Not a reference either: the store's error below names what it holds.
    }
  }
  if (!refs.has(ref)) throw new CliError(`push: ${arg}: no such file or directory, and the store ${store.dir} has no image of that ref (refs: ${[...refs].join(', ') || 'none'})`);
  return { from: store, ref, label: store.dir };
}

async function pushImage({ io, json, positionals, flags }: Invocation): Promise<void> {
  const [imageArg, refArg] = positionals;
  const reference = registryRefArg(refArg);
  if (!imageArg || !reference) throw new CliError(`push: IMAGE and REF are needed (usage: layerfs ${pushVerb.usage})`, 2);
  const size = chunkSize(flags['chunk-size']);
  const src = await source(imageArg, flags);
  const { credentials } = await credentialsFromFlags(flags, reference);
  if (io.stderrIsTTY) io.stderr(`pushing ${imageArg} to ${reference}...\n`);
  const result = await push(src.from, reference, {
    insecure: flags.insecure === true,
    ...(credentials ? { credentials } : {}),
    ...(src.ref !== undefined ? { ref: src.ref } : {}),
    ...(size !== undefined ? { chunkSize: size } : {}),
    ...(typeof flags.from === 'string' ? { from: flags.from } : {}),
  });
  if (json) {
    return emitJson({ io }, {
      ...imageJson(result.reference, result.manifest),
      source: src.label,
      pushed: blobsJson(result.pushed),
      mounted: blobsJson(result.mounted),
      present: blobsJson(result.present),
      from: result.from ?? null,
      bytes: result.bytes,
    });
  }
  const mounted = result.mounted.length > 0 ? `, ${result.mounted.length} mounted from ${result.from}` : '';
  out({ io }, `${result.reference}: ${result.manifest.digest}\n  ${result.pushed.length} blobs pushed (${bytes(result.bytes)} sent)${mounted}, ${result.present.length} already there`);
}

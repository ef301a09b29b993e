import { pull } from '../../registry/pull.js';
import { openContentStore } from '../../store/directory-store.js';
import { blobsJson, imageJson } from '../blob-json.js';
import { CliError, bytes } from '../io.js';
import { STORE_FLAG, storeDir } from '../store-dir.js';
import { emitJson, out, type Invocation, type Verb } from '../verb.js';

export const pullVerb: Verb = {
  takes: 'positionals',
  usage: 'pull REF [--store DIR] [--insecure]',
  summary: 'fetch an image from a registry into the content store (made when missing): only the blobs it lacks, each verified as it is written',
  options: {
    ...STORE_FLAG,
    insecure: { type: 'boolean', help: 'allow plain HTTP to a registry other than 127.0.0.1/localhost (it is the default there)' },
  },
  maxPositionals: 1,
  notes: [
    'REF is host[:port]/repo[:tag][@sha256:...] by docker\'s grammar (no host is docker.io; no tag is latest). The image is tagged in the store by the full reference, so `layerfs ls oci:STORE:REF /` and `skopeo inspect oci:STORE:REF` read it. --platform picks the manifest of a multi-platform index.',
    '--json: {reference, store, digest, mediaType, size, fetched: [{digest, size, mediaType}], present: [{digest, size, mediaType}], bytes (the bytes fetched)} (docs/cli.md).',
  ],
  run: pullImage,
};

async function pullImage({ io, json, positionals, flags }: Invocation): Promise<void> {
  const reference = positionals[0];
  if (!reference) throw new CliError(`pull: REF is needed (usage: layerfs ${pullVerb.usage})`, 2);
  const dir = storeDir(flags);
  const store = await openContentStore(dir, { create: true });
  if (io.stderrIsTTY) io.stderr(`pulling ${reference} into ${store.dir}...\n`);
  const platform = typeof flags.platform === 'string' ? flags.platform : undefined;
  const result = await pull(reference, { sink: store, insecure: flags.insecure === true, ...(platform !== undefined ? { platform } : {}) });
  const fetchedBytes = result.fetched.reduce((n, d) => n + d.size, 0);
  if (json) {
    return emitJson({ io }, {
      ...imageJson(result.reference, result.manifest),
      store: store.dir,
      fetched: blobsJson(result.fetched),
      present: blobsJson(result.present),
      bytes: fetchedBytes,
    });
  }
  out({ io }, `${result.reference}: ${result.manifest.digest}\n  ${result.fetched.length} blobs fetched (${bytes(fetchedBytes)}), ${result.present.length} already in ${store.dir}`);
}

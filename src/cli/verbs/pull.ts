import { pull, type PullResult } from '../../registry/pull.js';
import { openContentStore } from '../../store/directory-store.js';
import { blobsJson, imageJson } from '../blob-json.js';
import { CREDENTIAL_FLAGS, CREDENTIAL_NOTE, credentialsFromFlags } from '../credentials.js';
import { checkPlatformFlag, registryRefArg } from '../image-ref.js';
import { CliError, bytes } from '../io.js';
import { PullProgressView } from '../pull-progress.js';
import { INSECURE_FLAG, STORE_FLAG, storeDir } from '../store-dir.js';
import { emitJson, out, type Invocation, type Verb } from '../verb.js';

export const pullVerb: Verb = {
  takes: 'positionals',
  usage: 'pull REF [--store DIR] [--creds USER:PASS] [--authfile FILE] [--insecure] [--quiet]',
  summary: 'fetch an image from a registry into the content store (made when missing): only the blobs it lacks, each verified as it is written',
  options: {
    ...STORE_FLAG,
    ...CREDENTIAL_FLAGS,
    ...INSECURE_FLAG,
    quiet: { type: 'boolean', help: 'no progress on the terminal' },
  },
  maxPositionals: 1,
  notes: [
    'REF is host[:port]/repo[:tag][@sha256:...] by docker\'s grammar (no host is docker.io; no tag is latest), or docker://REF, as skopeo writes it. The image is tagged in the store by the full reference, so `layerfs ls oci:STORE:REF /` and `skopeo inspect oci:STORE:REF` read it. --platform picks the manifest of a multi-platform index. A blob whose body is cut is resumed with a Range request.',
    CREDENTIAL_NOTE,
    'On a terminal, stderr shows one line per blob as it arrives (not with --json or --quiet).',
    '--json: {reference, store, digest, mediaType, size, config, layers: [{digest, size, mediaType, fetched}], fetched, present, bytes (the sizes of the blobs fetched), received (the blob bytes the registry sent), resumes, credentials (where they came from, or null), elapsedMs} (docs/cli.md).',
  ],
  refuseEarly: (flags) => checkPlatformFlag(flags.platform),
  run: pullImage,
};

async function pullImage({ io, json, positionals, flags }: Invocation): Promise<void> {
  const started = performance.now();
  const reference = registryRefArg(positionals[0]);
  if (!reference) throw new CliError(`pull: REF is needed (usage: layerfs ${pullVerb.usage})`, 2);
  const { credentials, source } = await credentialsFromFlags(flags, reference);
  const dir = storeDir(flags);
  const store = await openContentStore(dir, { create: true });
  const view = io.stderrIsTTY && !json && flags.quiet !== true ? new PullProgressView(io.stderr) : undefined;
  if (view) io.stderr(`pulling ${reference} into ${store.dir}\n`);
  const platform = typeof flags.platform === 'string' ? flags.platform : undefined;
  let result: PullResult;
  try {
    result = await pull(reference, {
      sink: store,
      insecure: flags.insecure === true,
      ...(credentials ? { credentials } : {}),
      ...(platform !== undefined ? { platform } : {}),
      ...(view ? { onProgress: view.update } : {}),
    });
  } finally {
    view?.finish();
  }
  const fetchedBytes = result.fetched.reduce((n, d) => n + d.size, 0);
  if (json) {
    const fetched = new Set(result.fetched.map((d) => d.digest));
    const [config, ...layers] = result.blobs.map((d) => ({ digest: d.digest, size: d.size, mediaType: d.mediaType ?? null, fetched: fetched.has(d.digest) }));
    return emitJson({ io }, {
      ...imageJson(result.reference, result.manifest),
      store: store.dir,
      config,
      layers,
      fetched: blobsJson(result.fetched),
      present: blobsJson(result.present),
      bytes: fetchedBytes,
      received: result.received,
      resumes: result.resumes,
      credentials: source ?? null,
      elapsedMs: Math.round(performance.now() - started),
    });
  }
  out({ io }, `${result.reference}: ${result.manifest.digest}\n  ${result.fetched.length} blobs fetched (${bytes(fetchedBytes)}), ${result.present.length} already in ${store.dir}`);
}

import { bytes } from '../io.js';
import { STORE_FLAG, openExistingStore, storeDir } from '../store-dir.js';
import { emitJson, out, type Invocation, type Verb } from '../verb.js';

export const pruneVerb: Verb = {
  takes: 'positionals',
  usage: 'prune [--store DIR] [--dry-run]',
  summary: 'remove the blobs of the content store no image reaches (and no pull in progress holds)',
  options: {
    ...STORE_FLAG,
    'dry-run': { type: 'boolean', help: 'list what would be removed, remove nothing' },
  },
  maxPositionals: 0,
  notes: ['--json: {store, dryRun, removed: [{digest, size}], bytes} (docs/cli.md).'],
  run: prune,
};

async function prune({ io, json, flags }: Invocation): Promise<void> {
  const dir = storeDir(flags);
  const store = await openExistingStore(dir);
  const dryRun = flags['dry-run'] === true;
  const result = store ? await store.gc({ dryRun }) : { removed: [], bytes: 0, dryRun };
  const where = store?.dir ?? dir;
  if (json) return emitJson({ io }, { store: where, dryRun, removed: result.removed, bytes: result.bytes });
  const verb = dryRun ? 'would remove' : 'removed';
  out({ io }, [...result.removed.map((b) => `${verb} ${b.digest} (${bytes(b.size)})`), `${result.removed.length} blobs ${verb}, ${bytes(result.bytes)} in ${where}`].join('\n'));
}

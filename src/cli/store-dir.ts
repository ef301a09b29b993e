import * as fs from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { openContentStore, type DirectoryStore } from '../store/directory-store.js';
import { CREDENTIAL_FLAGS } from './credentials.js';
import type { FlagSpec, Flags } from './verb.js';

/** The --store flag of pull, images and prune. */
export const STORE_FLAG: Record<string, FlagSpec> = {
  store: { type: 'string', value: 'DIR', help: 'the content store, an OCI image layout (default: $XDG_CACHE_HOME/layerfs/store, else ~/.cache/layerfs/store)' },
};

export const INSECURE_FLAG: Record<string, FlagSpec> = {
  insecure: { type: 'boolean', help: 'allow plain HTTP to a registry other than 127.0.0.1/localhost (it is the default there)' },
};

/** The flags of every verb that takes an IMAGE, for its REF forms (image-ref.ts). */
export const REF_FLAGS: Record<string, FlagSpec> = {
  ...STORE_FLAG,
  pull: { type: 'string', value: 'WHEN', help: "for a REF: missing (pull it when the store lacks it; the default), always (pull a tag again), never (the store only)" },
  ...INSECURE_FLAG,
  ...CREDENTIAL_FLAGS,
};

/**
 * The store's directory: --store, else `layerfs/store` in the user's cache directory. The XDG
 * Base Directory spec: $XDG_CACHE_HOME when set to an absolute path (a relative one "should be
 * considered invalid and ignored"), else $HOME/.cache.
 */
export function storeDir(flags: Flags, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof flags.store === 'string' && flags.store !== '') return flags.store;
  const xdg = env.XDG_CACHE_HOME;
  const cache = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.cache');
  return join(cache, 'layerfs', 'store');
}

/**
 * Opens the store to read or prune it: undefined when its directory does not exist yet (no
 * pull has made it), which is an empty store, not made by looking at it. A directory that is
 * there but is not a layout is the store's ERR_STORE_NOT_A_LAYOUT.
 */
export async function openExistingStore(dir: string): Promise<DirectoryStore | undefined> {
  if (!fs.existsSync(dir)) return undefined;
  return openContentStore(dir, { create: false });
}

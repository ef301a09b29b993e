import { openManifestFiles } from '../image/image-manifest.js';
import type { OpenImageOptions } from '../image/image-options.js';
import { asIndex, type Descriptor } from '../image/descriptor.js';
import { configAnswers, configPlatform, pickPlatform, platformName } from '../image/platform-match.js';
import { selectManifest, wantedPlatform } from '../image/select-manifest.js';
import { storeImageFiles } from '../image/store-source.js';
import type { ContentStore, StoreDescriptor } from '../store/content-store.js';
import { isIndex } from '../oci/media-types.js';
import { MAX_MANIFEST_BYTES } from './manifest.js';

// Whether what a content store holds for a reference is the image openImage(REF) is asked for
// (open-reference.ts): the platform a pull would choose now, and an index's choice stored whole.

/** Why a stored image is not what a pull would choose now: said by ERR_NOT_STORED with pull 'never'. */
export type Answer = { ok: true } | { ok: false; why: string };

/**
 * Whether a stored image manifest is what a pull of the ref would choose now: the store tags one
 * manifest per ref (the platform pulled last), so one pulled for another platform is not what
 * is asked and counts as absent (pulled again, or ERR_NOT_STORED with pull 'never'), never
 * opened silently. The platform is the one asked for, else this machine's, as a pull's
 * (image/select-manifest.ts). A manifest pulled from an index is tagged with the platform it was
 * chosen for (pull.ts): that must be one the request accepts (containerd's matching, as the
 * index's choice). One tagged without (a tag that is one manifest, which a pull takes whatever
 * its platform; a digest reference) answers any request without a platform, and one with a
 * platform by its config's (config.md: os, architecture, variant). An index answers when the
 * image it chooses is stored whole (storedChoice).
 */
export async function answersPlatform(store: ContentStore, desc: StoreDescriptor, options: OpenImageOptions): Promise<Answer> {
  if (isIndex(desc.mediaType)) return storedChoice(store, desc, options.platform);
  const want = wantedPlatform(options.platform);
  const asked = `${platformName(want)}${options.platform === undefined ? " (this machine's)" : ''}`;
  const other = (has: string): Answer => ({ ok: false, why: `the store holds it for ${has}, not ${asked}` });
  // index.json is the store's file, read as it is: a platform of other than strings names none.
  const tagged = desc.platform ? configPlatform(desc.platform) : undefined;
  if (tagged) return pickPlatform([tagged], want) >= 0 ? { ok: true } : other(platformName(tagged));
  if (options.platform === undefined) return { ok: true };
  const { platform: _, ...rest } = options;
  const m = await openManifestFiles(storeImageFiles(store, desc), 'oci-layout', rest);
  const has = configPlatform(m.config as { os?: unknown; architecture?: unknown; variant?: unknown });
  return !has || configAnswers(has, want) ? { ok: true } : other(platformName(has));
}

/** How deep a stored index's choice is followed here (manifest.ts's bound for a pull); deeper, the open reports it. */
const MAX_STORED_INDEX_DEPTH = 4;

/**
 * Whether the image a stored index chooses for `platform` (as the open chooses it:
 * image/select-manifest.ts) is stored whole: its manifest, config and layers. An index holds
 * every platform's manifest by digest and a pull stores one (a tag names an index whose other
 * platforms are absent, docs/store.md): the one chosen missing is what a pull fetches, not an
 * image that cannot open. An index the choice fails on (no such platform, not JSON) is left to
 * the open, whose error names it.
 */
async function storedChoice(store: ContentStore, top: StoreDescriptor, platform: OpenImageOptions['platform']): Promise<Answer> {
  let desc: Descriptor = top;
  for (let depth = 0; isIndex(desc.mediaType); depth++) {
    if (depth >= MAX_STORED_INDEX_DEPTH) return { ok: true };
    const where = `index ${desc.digest}`;
    const bytes = await store.read(desc.digest, MAX_MANIFEST_BYTES);
    let chosen: Descriptor;
    try {
      chosen = selectManifest(asIndex(JSON.parse(bytes.toString('utf8')), where), platform === undefined ? {} : { platform }, where);
    } catch {
      return { ok: true };
    }
    const name = platformName(chosen.platform ?? wantedPlatform(platform));
    if (!(await store.has(chosen.digest))) return { ok: false, why: `the store holds the index ${desc.digest} but not its manifest ${chosen.digest} for ${name}` };
    if (!isIndex(chosen.mediaType)) {
      let manifest: { config?: Descriptor; layers?: Descriptor[] };
      try {
        manifest = JSON.parse((await store.read(chosen.digest, MAX_MANIFEST_BYTES)).toString('utf8'));
      } catch {
        return { ok: true };
      }
      for (const blob of [manifest.config, ...(Array.isArray(manifest.layers) ? manifest.layers : [])]) {
        if (blob && typeof blob.digest === 'string' && !(await store.has(blob.digest).catch(() => true))) {
          return { ok: false, why: `the store holds the manifest ${chosen.digest} of index ${desc.digest} for ${name} but not its blob ${blob.digest}` };
        }
      }
    }
    desc = chosen;
  }
  return { ok: true };
}

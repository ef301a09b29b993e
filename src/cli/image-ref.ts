import { existsSync } from 'node:fs';
import type { Image } from '../image/image.js';
import { openImageManifest, type ImageManifest } from '../image/image-manifest.js';
import type { OpenImageOptions } from '../image/image-options.js';
import { configAnswers, configPlatform, parsePlatform, platformName, PLATFORM_FORM } from '../image/platform-match.js';
import type { OpenReferenceOptions, PullPolicy } from '../registry/open-reference.js';
import type { RegistryOptions } from '../registry/options.js';
import { credentialsFromFlags } from './credentials.js';
import { CliError } from './io.js';
import { storeDir } from './store-dir.js';
import type { Flags } from './verb.js';

/** skopeo's docker transport (registry/open-reference.ts has it too; a value import there would load the registry code for every IMAGE). */
const DOCKER_TRANSPORT = 'docker://';

/** pull's and push's REF: `docker://REF` is the same REF (skopeo's transport, as IMAGE takes it). */
export function registryRefArg(arg: string | undefined): string | undefined {
  return arg?.startsWith(DOCKER_TRANSPORT) ? arg.slice(DOCKER_TRANSPORT.length) : arg;
}

/** An IMAGE argument taken apart: the file or directory, the tag asked for, the format it must be. */
export interface ImageRef {
  path: string;
  tag?: string;
  format?: Image['format'];
}

/** An IMAGE argument that is no local form: openImage's reference rule reads it (registry/open-reference.ts). */
export interface RefTarget {
  target: string;
}

const TRANSPORTS: Record<string, Image['format']> = { oci: 'oci-layout', 'oci-archive': 'oci-archive', 'docker-archive': 'docker-archive' };

/**
 * Reads IMAGE as skopeo reads its transports (containers-transports(5)): `oci:PATH[:TAG]`,
 * `oci-archive:PATH[:TAG]`, `docker-archive:PATH[:NAME:TAG]`, the tag after the first `:`
 * following PATH, as there; `docker://REF` is a registry reference. Without a transport, IMAGE
 * is a path when it exists; `PATH:TAG` when PATH exists and IMAGE itself does not, PATH the
 * longest that does (a path with a colon in it still opens as itself); anything else is left
 * to openImage's rule: a reference when docker's grammar reads it as one, else a path.
 */
export function parseImageRef(arg: string): ImageRef | RefTarget {
  const colon = arg.indexOf(':');
  const transport = colon > 0 ? arg.slice(0, colon) : '';
  const format = TRANSPORTS[transport];
  if (format) {
    const rest = arg.slice(colon + 1);
    const sep = rest.indexOf(':');
    const path = sep < 0 ? rest : rest.slice(0, sep);
    const tag = sep < 0 ? undefined : rest.slice(sep + 1);
    if (path === '') throw new CliError(`${arg}: no path after ${transport}:`, 2);
    if (tag === '') throw new CliError(`${arg}: an empty tag after the path`, 2);
    return { path, format, ...(tag !== undefined ? { tag } : {}) };
  }
  if (arg.startsWith(DOCKER_TRANSPORT)) return { target: arg };
  if (existsSync(arg)) return { path: arg };
  // The longest PATH that exists: a docker RepoTag holds a colon itself (`FILE:demo:latest`).
  for (let at = arg.lastIndexOf(':'); at > 0; at = arg.lastIndexOf(':', at - 1)) {
    if (at < arg.length - 1 && existsSync(arg.slice(0, at))) return { path: arg.slice(0, at), tag: arg.slice(at + 1) };
  }
  return { target: arg };
}

/** --platform, when given, is OS/ARCH[/VARIANT]: else a usage error (status 2), before anything is read or asked. */
export function checkPlatformFlag(platform: string | boolean | undefined): asserts platform is string | undefined {
  if (platform !== undefined && (typeof platform !== 'string' || !PLATFORM_FORM.test(platform))) {
    throw new CliError(`--platform: expected OS/ARCH[/VARIANT] such as linux/amd64 or linux/arm/v7, not ${JSON.stringify(platform)}`, 2);
  }
}

/** How a REF is opened: the store, when to pull, the registry's options (credentials pass through `registry`). */
export interface RefOptions {
  store: string;
  pull: PullPolicy;
  registry: RegistryOptions;
  /** What `registry` gains when the registry is to be asked (the login files read, a helper run): never before (withCredentials). */
  credentials?: () => Promise<RegistryOptions>;
}

const PULL_POLICIES = ['missing', 'always', 'never'];

/** --store, --pull and --insecure of a verb that takes IMAGE; `registry` adds to what they give (credentials). */
export function refOptions(flags: Flags, registry: RegistryOptions = {}, credentials?: () => Promise<RegistryOptions>): RefOptions {
  const pull = flags.pull ?? 'missing';
  if (typeof pull !== 'string' || !PULL_POLICIES.includes(pull)) throw new CliError(`--pull: expected missing, always or never, not ${JSON.stringify(pull)}`, 2);
  return { store: storeDir(flags), pull: pull as PullPolicy, registry: { ...(flags.insecure === true ? { insecure: true } : {}), ...registry }, ...(credentials ? { credentials } : {}) };
}

/**
 * Opens a REF with its credentials looked up only when the registry is to be asked, so a login
 * file is read and a credential helper run only for a pull (or a manifest fetched): with --pull
 * missing the store is tried first (pull 'never'), and only a REF it lacks (ERR_NOT_STORED) is
 * opened again with them; --pull always asks the registry at once; --pull never never does.
 */
async function withCredentials<T>(refs: RefOptions | undefined, open: (refs: RefOptions | undefined) => Promise<T>): Promise<T> {
  if (!refs?.credentials || refs.pull === 'never') return open(refs);
  const lookedUp = async (): Promise<RefOptions> => ({ ...refs, registry: { ...refs.registry, ...(await refs.credentials!()) } });
  if (refs.pull === 'always') return open(await lookedUp());
  try {
    return await open({ ...refs, pull: 'never' });
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ERR_NOT_STORED') throw e;
  }
  return open(await lookedUp());
}

/**
 * The credentials for an IMAGE argument of a verb that takes REF_FLAGS: looked up only when
 * IMAGE names a registry reference (imageTarget's rule); a path, a layout or an archive looks
 * up nothing, so a broken credential helper cannot break `layerfs ls ./layout /`.
 */
export async function imageCredentials(flags: Flags, arg: string): Promise<RegistryOptions> {
  const image = parseImageRef(arg);
  if (!('target' in image)) return {};
  const { imageTarget } = await import('../registry/open-reference.js');
  // A target that is no valid reference: opening it gives the error that names it.
  const named = await imageTarget(image.target).catch(() => undefined);
  if (!named || !('reference' in named)) return {};
  const { credentials } = await credentialsFromFlags(flags, named.given);
  return credentials ? { credentials } : {};
}

/**
 * Opens IMAGE with its tag and `--platform`, read as its transport's format (openImage's
 * `format`: another is refused), or a REF from the store (pulled into it by `refs.pull`).
 * `content: 'none'` for a verb that reads no file's content (openImage's index-only layers).
 */
export async function openImageArg(arg: string, platform: string | boolean | undefined, warn: (line: string) => void = () => {}, content?: 'none', refs?: RefOptions): Promise<Image> {
  // Loaded here, not above: a verb that reads the manifest only (inspect) loads no layer code.
  const { openImage } = await import('../image/image.js');
  const { openImage: openReference } = await import('../registry/open-reference.js');
  const withContent = (options: OpenImageOptions) => (content ? { ...options, content } : options);
  return openRef(arg, platform, warn, (path, options) => openImage(path, withContent(options)), (target, options) => withCredentials(refs, (r) => openReference(target, { ...withContent(options), ...referenceOptions(r) })));
}

/** IMAGE's manifest and config as openImageArg chooses them, no layer read (openImageManifest); a REF the store lacks is read from the registry, not pulled. */
export async function openManifestArg(arg: string, platform: string | boolean | undefined, warn: (line: string) => void = () => {}, refs?: RefOptions): Promise<ImageManifest> {
  const { openImageManifest: openReference } = await import('../registry/open-reference.js');
  return openRef(arg, platform, warn, openImageManifest, (target, options) => withCredentials(refs, (r) => openReference(target, { ...options, ...referenceOptions(r) })));
}

const referenceOptions = (refs: RefOptions | undefined): OpenReferenceOptions => (refs ? { store: refs.store, pull: refs.pull, ...refs.registry } : {});

async function openRef<T extends Image | ImageManifest>(arg: string, platform: string | boolean | undefined, warn: (line: string) => void, openAt: (path: string, options: OpenImageOptions) => Promise<T>, openTarget: (target: string, options: OpenImageOptions) => Promise<T>): Promise<T> {
  checkPlatformFlag(platform);
  const ref = parseImageRef(arg);
  const platformOption = platform !== undefined ? { platform } : {};
  const image = 'target' in ref
    ? await openTarget(ref.target, platformOption)
    : await openAt(ref.path, { ...(ref.tag !== undefined ? { ref: ref.tag } : {}), ...platformOption, ...(ref.format !== undefined ? { format: ref.format } : {}) });
  // An image of one manifest is opened whatever its platform (there is no other to choose):
  // said, as podman warns, when its config names another than the one asked for.
  const has = configPlatform(image.config as { os?: unknown; architecture?: unknown; variant?: unknown });
  if (typeof platform === 'string' && has && !configAnswers(has, parsePlatform(platform))) {
    warn(`warning: ${arg} is ${platformName(has)}, not ${platform} (it holds no other platform)`);
  }
  return image;
}

import { existsSync } from 'node:fs';
import { ImageError } from '../image/errors.js';
import type { Image } from '../image/image.js';
import { openImageManifest, type ImageManifest } from '../image/image-manifest.js';
import type { OpenImageOptions } from '../image/image-options.js';
import { pickPlatform } from '../image/platform-match.js';
import { CliError } from './io.js';

/** An IMAGE argument taken apart: the file or directory, the tag asked for, the format it must be. */
export interface ImageRef {
  path: string;
  tag?: string;
  format?: Image['format'];
}

const TRANSPORTS: Record<string, Image['format']> = { oci: 'oci-layout', 'oci-archive': 'oci-archive', 'docker-archive': 'docker-archive' };

/**
 * Reads IMAGE as skopeo reads its transports (containers-transports(5)): `oci:PATH[:TAG]`,
 * `oci-archive:PATH[:TAG]`, `docker-archive:PATH[:NAME:TAG]`, the tag after the first `:`
 * following PATH, as there. Without a transport, IMAGE is a path; `PATH:TAG` when PATH exists
 * and IMAGE itself does not (a path with a colon in it still opens as itself).
 */
export function parseImageRef(arg: string): ImageRef {
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
  if (existsSync(arg)) return { path: arg };
  const last = arg.lastIndexOf(':');
  if (last > 0 && last < arg.length - 1 && existsSync(arg.slice(0, last))) return { path: arg.slice(0, last), tag: arg.slice(last + 1) };
  return { path: arg };
}

const FORMAT_NAMES: Record<Image['format'], string> = { 'oci-layout': 'an OCI image layout', 'oci-archive': 'an OCI archive', 'docker-archive': 'a docker save archive' };

/** os/architecture[/variant], each part non-empty (image-index.md platform). */
const PLATFORM = /^[^/\s]+\/[^/\s]+(\/[^/\s]+)?$/;

/**
 * Opens IMAGE with its tag and `--platform`; a transport that names another format than the
 * file's is refused. `content: 'none'` for a verb that reads no file's content (openImage's
 * index-only layers).
 */
export async function openImageArg(arg: string, platform: string | boolean | undefined, warn: (line: string) => void = () => {}, content?: 'none'): Promise<Image> {
  // Loaded here, not above: a verb that reads the manifest only (inspect) loads no layer code.
  const { openImage } = await import('../image/image.js');
  return openRef(arg, platform, warn, (path, options) => openImage(path, content ? { ...options, content } : options));
}

/** IMAGE's manifest and config as openImageArg chooses them, no layer read (openImageManifest). */
export function openManifestArg(arg: string, platform: string | boolean | undefined, warn: (line: string) => void = () => {}): Promise<ImageManifest> {
  return openRef(arg, platform, warn, openImageManifest);
}

async function openRef<T extends Image | ImageManifest>(arg: string, platform: string | boolean | undefined, warn: (line: string) => void, openAt: (path: string, options: OpenImageOptions) => Promise<T>): Promise<T> {
  if (platform !== undefined && (typeof platform !== 'string' || !PLATFORM.test(platform))) {
    throw new CliError(`--platform: expected OS/ARCH[/VARIANT] such as linux/amd64 or linux/arm/v7, not ${JSON.stringify(platform)}`, 2);
  }
  const ref = parseImageRef(arg);
  const open = (tag: string | undefined) => openAt(ref.path, { ...(tag !== undefined ? { ref: tag } : {}), ...(platform !== undefined ? { platform } : {}) });
  let image: T;
  try {
    image = await open(ref.tag);
  } catch (e) {
    // docker save writes RepoTags as given (`demo:latest`), skopeo in full (`docker.io/library/demo:latest`): either is found by either.
    const other = ref.tag !== undefined && ref.format !== 'oci-layout' && ref.format !== 'oci-archive' ? otherDockerForm(ref.tag) : undefined;
    if (!(e instanceof ImageError) || !/no image tagged/.test(e.message) || other === undefined) throw e;
    image = await open(other).catch(() => {
      throw e;
    });
  }
  if (ref.format !== undefined && image.format !== ref.format) {
    (image as Partial<Pick<Image, 'close'>>).close?.();
    throw new CliError(`${arg}: ${ref.path} is ${FORMAT_NAMES[image.format]}, not ${FORMAT_NAMES[ref.format]}`);
  }
  // An image of one manifest is opened whatever its platform (there is no other to choose):
  // said, as podman warns, when its config names another than the one asked for.
  const { os, architecture } = image.config;
  const variant = (image.config as { variant?: unknown }).variant; // config.md has it; ImageConfig does not list it
  if (typeof platform === 'string' && typeof os === 'string' && typeof architecture === 'string') {
    const [wantOs, wantArch, wantVariant] = platform.split('/') as [string, string, string?];
    const has = { os, architecture, ...(typeof variant === 'string' ? { variant } : {}) };
    // A config without a variant (config.md: optional) says nothing against the one asked for.
    const askVariant = wantVariant && typeof variant === 'string' ? { variant: wantVariant } : {};
    if (pickPlatform([has], { os: wantOs, architecture: wantArch, ...askVariant }) < 0) {
      warn(`warning: ${arg} is ${[os, architecture, variant].filter(Boolean).join('/')}, not ${platform} (it holds no other platform)`);
    }
  }
  return image;
}

/**
 * A docker reference in its other spelling (distribution/reference's normalised and familiar
 * forms): `demo:latest` <-> `docker.io/library/demo:latest`, `me/app` <-> `docker.io/me/app:latest`.
 */
export function otherDockerForm(ref: string): string | undefined {
  const full = /^docker\.io\/(library\/)?(.+)$/.exec(ref);
  if (full) return full[2];
  const first = ref.split('/')[0]!;
  // A first part with a dot or a port, or localhost, names a registry: already full.
  if (ref.includes('/') && (/[.:]/.test(first) || first === 'localhost')) return undefined;
  const tagged = /:[^/]+$/.test(ref) || ref.includes('@') ? ref : `${ref}:latest`;
  return ref.includes('/') ? `docker.io/${tagged}` : `docker.io/library/${tagged}`;
}

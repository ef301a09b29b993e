import { existsSync } from 'node:fs';
import type { Image } from '../image/image.js';
import { openImageManifest, type ImageManifest } from '../image/image-manifest.js';
import type { OpenImageOptions } from '../image/image-options.js';
import { parsePlatform, pickPlatform, platformName, PLATFORM_FORM } from '../image/platform-match.js';
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
 * and IMAGE itself does not, PATH the longest that does (a path with a colon in it still opens
 * as itself).
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
  // The longest PATH that exists: a docker RepoTag holds a colon itself (`FILE:demo:latest`).
  for (let at = arg.lastIndexOf(':'); at > 0; at = arg.lastIndexOf(':', at - 1)) {
    if (at < arg.length - 1 && existsSync(arg.slice(0, at))) return { path: arg.slice(0, at), tag: arg.slice(at + 1) };
  }
  return { path: arg };
}

/** Opens IMAGE with its tag and `--platform`, read as its transport's format (openImage's `format`: another is refused). */
export async function openImageArg(arg: string, platform: string | boolean | undefined, warn: (line: string) => void = () => {}): Promise<Image> {
  // Loaded here, not above: a verb that reads the manifest only (inspect) loads no layer code.
  const { openImage } = await import('../image/image.js');
  return openRef(arg, platform, warn, openImage);
}

/** IMAGE's manifest and config as openImageArg chooses them, no layer read (openImageManifest). */
export function openManifestArg(arg: string, platform: string | boolean | undefined, warn: (line: string) => void = () => {}): Promise<ImageManifest> {
  return openRef(arg, platform, warn, openImageManifest);
}

async function openRef<T extends Image | ImageManifest>(arg: string, platform: string | boolean | undefined, warn: (line: string) => void, openAt: (path: string, options: OpenImageOptions) => Promise<T>): Promise<T> {
  if (platform !== undefined && (typeof platform !== 'string' || !PLATFORM_FORM.test(platform))) {
    throw new CliError(`--platform: expected OS/ARCH[/VARIANT] such as linux/amd64 or linux/arm/v7, not ${JSON.stringify(platform)}`, 2);
  }
  const ref = parseImageRef(arg);
  const open = (tag: string | undefined) => openAt(ref.path, { ...(tag !== undefined ? { ref: tag } : {}), ...(platform !== undefined ? { platform } : {}), ...(ref.format !== undefined ? { format: ref.format } : {}) });
  const image = await open(ref.tag);
  // An image of one manifest is opened whatever its platform (there is no other to choose):
  // said, as podman warns, when its config names another than the one asked for.
  const { os, architecture } = image.config;
  const variant = (image.config as { variant?: unknown }).variant; // config.md has it; ImageConfig does not list it
  if (typeof platform === 'string' && typeof os === 'string' && typeof architecture === 'string') {
    const { variant: wantVariant, ...want } = parsePlatform(platform);
    const has = { os, architecture, ...(typeof variant === 'string' ? { variant } : {}) };
    // A config without a variant (config.md: optional) says nothing against the one asked for.
    const askVariant = wantVariant && typeof variant === 'string' ? { variant: wantVariant } : {};
    if (pickPlatform([has], { ...want, ...askVariant }) < 0) {
      warn(`warning: ${arg} is ${platformName(has)}, not ${platform} (it holds no other platform)`);
    }
  }
  return image;
}

import { checkTarLayerOptions, mustBe, notAllowed, string } from '../layer/tar/layer-options.js';
import type { TarLayerOptions } from '../layer/tar/layer-options.js';
import type { Platform } from './descriptor.js';
import { PLATFORM_FORM } from './platform-match.js';
import { IMAGE_FORMATS, type ImageFormat } from './image-format.js';

export interface OpenImageOptions extends TarLayerOptions {
  /** Which platform to pick from an index; the running one (linux/<arch>) by default. */
  platform?: string | Platform;
  /** A tag (`org.opencontainers.image.ref.name`, or a docker RepoTag) when the image holds several. */
  ref?: string;
  /**
   * The format the files must be read as (skopeo's transport): `docker-archive` reads the
   * manifest.json of a docker save archive that also embeds an OCI layout (Docker 25 and
   * later write both). Files of another format are an ImageError; by default the files decide.
   */
  format?: ImageFormat;
}

/**
 * openImage's options, checked before anything is read (layer-options.ts says how): the
 * TarLayerOptions passed on to each layer, `ref` (a string) and `platform` (a string
 * `os/architecture[/variant]`, or an object with string `os`, `architecture` and optional
 * `variant`).
 */
export function checkOpenImageOptions(options: unknown): OpenImageOptions {
  const o = checkTarLayerOptions(options, ['platform', 'ref', 'format']);
  string(o, 'ref');
  string(o, 'format');
  if (o.format !== undefined && !(IMAGE_FORMATS as readonly unknown[]).includes(o.format)) throw notAllowed('options.format', `must be one of: ${IMAGE_FORMATS.map((f) => `'${f}'`).join(', ')}`, o.format);
  const p = o.platform;
  if (typeof p === 'string') {
    if (!PLATFORM_FORM.test(p)) throw notAllowed('options.platform', 'must be os/architecture[/variant], e.g. linux/amd64', p);
  } else if (typeof p === 'object' && p !== null && !Array.isArray(p)) {
    const given = p as Record<string, unknown>;
    const platform: Platform = { os: given.os as string, architecture: given.architecture as string };
    for (const key of ['os', 'architecture'] as const) {
      if (typeof given[key] !== 'string') throw mustBe(`options.platform.${key}`, 'string', given[key]);
      if (given[key] === '') throw notAllowed(`options.platform.${key}`, 'must not be empty', given[key]);
    }
    if (given.variant !== undefined) {
      if (typeof given.variant !== 'string') throw mustBe('options.platform.variant', 'string', given.variant);
      platform.variant = given.variant;
    }
    o.platform = platform;
  } else if (p !== undefined) {
    throw mustBe('options.platform', 'string or Platform object', p);
  }
  return o as OpenImageOptions;
}

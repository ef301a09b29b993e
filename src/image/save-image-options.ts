import { resolve } from 'node:path';
import { Overlay } from '../export/overlay.js';
import type { Image } from './image.js';
import type { ImageConfig, ImageLayer } from './image-parts.js';
import { engineOf } from '../fs/overlay-fs.js';
import { checkTarWriteOptions, TAR_WRITE_OPTIONS, type CheckedTarWriteOptions } from '../export/options.js';
import { define, optionalString, readOptions, stringArray, typeError, valueError } from '../util/options.js';

/**
 * `org.opencontainers.image.ref.name` (image-spec annotations.md):
 * `ref ::= component ("/" component)*`, `component ::= alphanum (separator alphanum)*`,
 * `alphanum ::= [A-Za-z0-9]+`, `separator ::= [-._:@+] | "--"`.
 */
const REF_COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
export const REF_NAME = new RegExp(`^${REF_COMPONENT}(?:/${REF_COMPONENT})*$`);

/** The config fields saveImage sets (config.md "Properties"), with the JSON type each has there. */
const CONFIG_FIELDS: Record<string, 'string' | 'string[]' | 'labels'> = {
  Env: 'string[]', Cmd: 'string[]', Entrypoint: 'string[]', WorkingDir: 'string', User: 'string', Labels: 'labels',
};

type ConfigFields = NonNullable<ImageConfig['config']>;

/**
 * The config fields to set, copied: strings, lists copied by index, Labels into a new object.
 * A field given as undefined is left out (the base image's value stays, as an undefined
 * option takes its default).
 */
function checkImageConfig(v: unknown, name: string): ConfigFields {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw typeError(name, 'object', v);
  const o = v as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    const kind = CONFIG_FIELDS[key];
    const field = `${name}.${key}`;
    // Unlike an unknown option, an unknown config field would be written into the image.
    if (!kind) throw valueError(name, `may only set ${Object.keys(CONFIG_FIELDS).join(', ')} (not ${JSON.stringify(key)})`, o);
    const value = o[key];
    if (value === undefined) continue;
    if (kind === 'string' && typeof value !== 'string') throw typeError(field, 'string', value);
    if (kind === 'string[]') define(copy, key, stringArray(value, field));
    else if (kind === 'labels') define(copy, key, checkLabels(value, field));
    else define(copy, key, value);
  }
  // config.md: "Entries are in the format of VARNAME=VARVALUE."
  (copy.Env as string[] | undefined)?.forEach((s, i) => {
    if (!/^[^=]+=/.test(s)) throw valueError(`${name}.Env[${i}]`, 'must have the form NAME=value', s);
  });
  return copy as ConfigFields;
}

/** Labels: an object of strings, copied into a new one (each value read once). */
function checkLabels(v: unknown, name: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw typeError(name, 'object', v);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    const s = (v as Record<string, unknown>)[key];
    if (typeof s !== 'string') throw typeError(`${name}[${JSON.stringify(key)}]`, 'string', s);
    define(copy, key, s);
  }
  return copy as Record<string, string>;
}

/** The base image as checked: its layers and config read once, used instead of the Image's own. */
export interface CheckedBase {
  image: Image;
  layers: readonly ImageLayer[];
  config: ImageConfig;
}

/**
 * A base image (checked by shape, src/image/image.ts's Image) whose layers are the overlay's
 * lower layers, in order: its blobs are what saveImage copies for them.
 */
function checkBase(v: unknown, lower: readonly unknown[], name: string): CheckedBase | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null) throw typeError(name, 'Image (from openImage)', v);
  const b = v as { layers?: unknown; layerBlobStream?: unknown; config?: unknown };
  const layers = b.layers;
  const config = b.config;
  if (!Array.isArray(layers) || typeof b.layerBlobStream !== 'function' || typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw typeError(name, 'Image (from openImage)', v);
  }
  const copy = Array.from({ length: layers.length }, (_, i) => layers[i] as ImageLayer);
  if (copy.length !== lower.length || copy.some((l, i) => (l as { layer?: unknown } | undefined)?.layer !== lower[i])) {
    throw valueError(name, 'must be the image the overlay was made from; the overlay was not made from the base image given (its lower layers differ)', v);
  }
  return { image: v as Image, layers: copy, config: config as ImageConfig };
}

/** saveImage's options as checked: each read once, `config` a copy. */
export interface CheckedSaveImageOptions extends CheckedTarWriteOptions {
  base?: CheckedBase;
  ref?: string;
  createdBy?: string;
  config?: ConfigFields;
}

const SAVE_IMAGE_OPTIONS = [...TAR_WRITE_OPTIONS, 'base', 'ref', 'createdBy', 'config'] as const;

/**
 * saveImage's arguments: the overlay, the target path, and every option (its TarWriteOptions
 * included), all before the first write.
 */
export function checkSaveImageArgs(ov: unknown, target: unknown, options: unknown): CheckedSaveImageOptions {
  if (!(ov instanceof Overlay)) throw typeError('ov', 'Overlay', ov);
  if (typeof target !== 'string') throw typeError('target', 'string', target);
  if (target === '' || target.includes('\0')) throw valueError('target', 'must be a non-empty path without null bytes', target);
  // The target is resolved lexically (path.resolve), where the kernel would resolve `out/..`
  // through a symlink at `out`: a path whose last component is `..` is ambiguous, refused.
  if (/(^|\/)\.\.\/*$/.test(target) || resolve(target) === '/') {
    throw valueError('target', "must name the layout directory itself (not '/', and not ending in '..')", target);
  }
  const o = readOptions(options, SAVE_IMAGE_OPTIONS);
  const tar = checkTarWriteOptions(o);
  const base = checkBase(o.base, engineOf(ov).lower.layers, 'options.base');
  const ref = optionalString(o, 'ref', 'options');
  if (ref !== undefined && !REF_NAME.test(ref)) {
    throw valueError('options.ref', 'must be a ref name as image-spec annotations.md defines it (letters and digits, separated by one of - . _ : @ + or --, components joined by /)', ref);
  }
  const createdBy = optionalString(o, 'createdBy', 'options');
  // null, like an options object of null, sets nothing.
  const config = o.config === undefined || o.config === null ? undefined : checkImageConfig(o.config, 'options.config');
  return { ...tar, base, ref, createdBy, config };
}

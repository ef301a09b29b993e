import { resolve } from 'node:path';
import { inspect } from 'node:util';
import type { OutputCompression } from './compress.js';
import { requireZstd } from '../layer/tar/zstd.js';
import type { ExportDirOptions } from './export-dir.js';
import type { Image, ImageConfig, ImageLayer } from '../image/image.js';

/**
 * The option checks of every materialising call (commit, exportTar, writeTar, exportDir,
 * saveImage), in one place, run before anything is written.
 *
 * Errors are Node's own kind for a bad argument (lib/internal/errors.js): a TypeError with
 * `code` ERR_INVALID_ARG_TYPE (wrong type) or ERR_INVALID_ARG_VALUE (a value not allowed),
 * a RangeError with ERR_OUT_OF_RANGE (a number outside its range, NaN included), each
 * naming the option and what it accepts. As in Node, an option given as `undefined` takes
 * its default, and names these functions do not know are ignored.
 *
 * Each option is read once, into a fresh plain object that the checks and the call then use
 * (and `config` copied down to its lists and Labels): a getter that answers differently on a
 * second read, or a caller changing its object after the call, cannot bypass a check.
 */
export type OptionErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

export function optionError(code: OptionErrorCode, message: string): TypeError | RangeError {
  const e = (code === 'ERR_OUT_OF_RANGE' ? new RangeError(message) : new TypeError(message)) as (TypeError | RangeError) & { code: OptionErrorCode };
  e.code = code;
  return e;
}

const received = (v: unknown): string => {
  if (v === null || v === undefined) return `Received ${v}`;
  if (typeof v === 'function') return `Received function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') return v.constructor?.name && v.constructor !== Object ? `Received an instance of ${v.constructor.name}` : `Received ${inspect(v, { depth: 0 })}`;
  return `Received type ${typeof v} (${inspect(v).slice(0, 40)})`;
};

const typeError = (name: string, type: string, v: unknown) =>
  optionError('ERR_INVALID_ARG_TYPE', `The "${name}" ${name.includes('.') ? 'property' : 'argument'} must be of type ${type}. ${received(v)}`);

const valueError = (name: string, must: string, v: unknown) =>
  optionError('ERR_INVALID_ARG_VALUE', `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${must}. ${typeof v === 'object' && v !== null ? received(v) : `Received ${inspect(v).slice(0, 100)}`}`);

/** `copy[key] = value` as a data property, even for `__proto__` (which `=` would not create). */
function define(copy: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * An options argument (an object, or undefined/null for the defaults, as Node's fs takes
 * them), read once into a fresh plain object: the `known` names as properties (inherited ones
 * too, as Node reads options), then any other own enumerable name, so a caller's extra
 * options still reach the call they are passed on to.
 */
function readOptions(v: unknown, known: readonly string[], name = 'options'): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw typeError(name, 'object', v);
  const o = v as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of known) define(copy, key, o[key]);
  for (const key of Object.keys(o)) if (!known.includes(key)) define(copy, key, o[key]);
  return copy;
}

function optionalBoolean(o: Record<string, unknown>, key: string, name: string): boolean | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== 'boolean') throw typeError(`${name}.${key}`, 'boolean', v);
  return v;
}

function optionalString(o: Record<string, unknown>, key: string, name: string): string | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== 'string') throw typeError(`${name}.${key}`, 'string', v);
  return v;
}

/**
 * A list of strings, copied into a new array by index up to its length: a hole (`[, 'x']`,
 * `new Array(2)`) is an undefined entry, refused, and the copy has no toJSON of its own.
 */
function stringArray(v: unknown, name: string): string[] {
  if (!Array.isArray(v)) throw typeError(name, 'string[]', v);
  const length = v.length;
  const copy: string[] = [];
  for (let i = 0; i < length; i++) {
    const s: unknown = v[i];
    if (typeof s !== 'string') throw typeError(`${name}[${i}]`, 'string', s);
    copy.push(s);
  }
  return copy;
}

export const COMPRESSIONS: readonly OutputCompression[] = ['gzip', 'zstd', 'none'];

/**
 * The largest SOURCE_DATE_EPOCH kept: 9999-12-31T23:59:59Z. The config's `created` is an
 * RFC 3339 date-time (image-spec config.md), whose year has four digits.
 */
export const MAX_SOURCE_DATE_EPOCH = 253_402_300_799;

export interface CheckedTarWriteOptions {
  compression: OutputCompression;
  sourceDateEpoch?: number;
}

/** TarWriteOptions (commit, exportTar, saveImage's layers): `compression` and `sourceDateEpoch`. */
const TAR_WRITE_OPTIONS = ['compression', 'sourceDateEpoch'] as const;

export function checkTarWriteOptions(options: unknown, defaultCompression: OutputCompression = 'gzip', name = 'options'): CheckedTarWriteOptions {
  const o = readOptions(options, TAR_WRITE_OPTIONS, name);
  const compression = o.compression === undefined ? defaultCompression : o.compression;
  if (typeof compression !== 'string') throw typeError(`${name}.compression`, 'string', compression);
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw valueError(`${name}.compression`, `must be one of: ${COMPRESSIONS.map((c) => `'${c}'`).join(', ')}`, compression);
  }
  // Without the zstd binding, before the first write (a ZstdUnavailable saying how to install it).
  if (compression === 'zstd') requireZstd();
  const epoch = o.sourceDateEpoch;
  if (epoch !== undefined) {
    if (typeof epoch !== 'number') throw typeError(`${name}.sourceDateEpoch`, 'number', epoch);
    // reproducible-builds.org's SOURCE_DATE_EPOCH spec: an integer, seconds since the epoch.
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_SOURCE_DATE_EPOCH) {
      throw optionError('ERR_OUT_OF_RANGE', `The value of "${name}.sourceDateEpoch" is out of range. It must be an integer >= 0 && <= ${MAX_SOURCE_DATE_EPOCH}. Received ${inspect(epoch)}`);
    }
  }
  return { compression: compression as OutputCompression, ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}) };
}

/** exportDir's options: `allowNonEmpty` and `overwrite` (booleans), `onProgress` (function). */
export function checkExportDirOptions(options: unknown, name = 'options'): ExportDirOptions {
  const o = readOptions(options, ['allowNonEmpty', 'overwrite', 'onProgress'], name);
  optionalBoolean(o, 'allowNonEmpty', name);
  optionalBoolean(o, 'overwrite', name);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw typeError(`${name}.onProgress`, 'function', o.onProgress);
  return o as ExportDirOptions;
}

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
  const lower = (ov as { engine?: { lower?: { layers?: unknown } } } | null)?.engine?.lower?.layers;
  if (typeof ov !== 'object' || ov === null || !Array.isArray(lower) || typeof (ov as { commit?: unknown }).commit !== 'function') {
    throw typeError('ov', 'Overlay', ov);
  }
  if (typeof target !== 'string') throw typeError('target', 'string', target);
  if (target === '' || target.includes('\0')) throw valueError('target', 'must be a non-empty path without null bytes', target);
  // The target is resolved lexically (path.resolve), where the kernel would resolve `out/..`
  // through a symlink at `out`: a path whose last component is `..` is ambiguous, refused.
  if (/(^|\/)\.\.\/*$/.test(target) || resolve(target) === '/') {
    throw valueError('target', "must name the layout directory itself (not '/', and not ending in '..')", target);
  }
  const o = readOptions(options, SAVE_IMAGE_OPTIONS);
  const tar = checkTarWriteOptions(o);
  const base = checkBase(o.base, lower, 'options.base');
  const ref = optionalString(o, 'ref', 'options');
  if (ref !== undefined && !REF_NAME.test(ref)) {
    throw valueError('options.ref', 'must be a ref name as image-spec annotations.md defines it (letters and digits, separated by one of - . _ : @ + or --, components joined by /)', ref);
  }
  const createdBy = optionalString(o, 'createdBy', 'options');
  // null, like an options object of null, sets nothing.
  const config = o.config === undefined || o.config === null ? undefined : checkImageConfig(o.config, 'options.config');
  return { ...tar, base, ref, createdBy, config };
}

import { resolve } from 'node:path';
import { inspect } from 'node:util';
import type { OutputCompression } from './compress.js';
import type { ExportDirOptions } from './export-dir.js';
import type { SaveImageOptions } from './save-image.js';

/**
 * The option checks of every materialising call (commit, exportTar, writeTar, exportDir,
 * saveImage), in one place, run before anything is written.
 *
 * Errors are Node's own kind for a bad argument (lib/internal/errors.js): a TypeError with
 * `code` ERR_INVALID_ARG_TYPE (wrong type) or ERR_INVALID_ARG_VALUE (a value not allowed),
 * a RangeError with ERR_OUT_OF_RANGE (a number outside its range, NaN included), each
 * naming the option and what it accepts. As in Node, an option given as `undefined` takes
 * its default, and names these functions do not know are ignored (option objects are spread
 * and passed on: saveImage hands its own to commit).
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

/** An options argument: an object, or undefined/null for the defaults (as Node's fs takes them). */
function optionsObject(v: unknown, name = 'options'): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw typeError(name, 'object', v);
  return v as Record<string, unknown>;
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

function stringArray(v: unknown, name: string): string[] {
  if (!Array.isArray(v)) throw typeError(name, 'string[]', v);
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw typeError(`${name}[${i}]`, 'string', s);
  });
  return v as string[];
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
export function checkTarWriteOptions(options: unknown, defaultCompression: OutputCompression = 'gzip', name = 'options'): CheckedTarWriteOptions {
  const o = optionsObject(options, name);
  const compression = o.compression === undefined ? defaultCompression : o.compression;
  if (typeof compression !== 'string') throw typeError(`${name}.compression`, 'string', compression);
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw valueError(`${name}.compression`, `must be one of: ${COMPRESSIONS.map((c) => `'${c}'`).join(', ')}`, compression);
  }
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

/** exportDir's options: `allowNonEmpty` (boolean) and `onProgress` (function). */
export function checkExportDirOptions(options: unknown, name = 'options'): ExportDirOptions {
  const o = optionsObject(options, name);
  optionalBoolean(o, 'allowNonEmpty', name);
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

function checkImageConfig(v: unknown, name: string): void {
  const o = optionsObject(v, name);
  for (const [key, value] of Object.entries(o)) {
    const kind = CONFIG_FIELDS[key];
    const field = `${name}.${key}`;
    // Unlike an unknown option, an unknown config field would be written into the image.
    if (!kind) throw valueError(name, `may only set ${Object.keys(CONFIG_FIELDS).join(', ')} (not ${JSON.stringify(key)})`, o);
    if (value === undefined) continue;
    if (kind === 'string' && typeof value !== 'string') throw typeError(field, 'string', value);
    if (kind === 'string[]') stringArray(value, field);
    if (kind === 'labels') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError(field, 'object', value);
      for (const [k, s] of Object.entries(value)) if (typeof s !== 'string') throw typeError(`${field}[${JSON.stringify(k)}]`, 'string', s);
    }
  }
  // config.md: "Entries are in the format of VARNAME=VARVALUE."
  const env = o.Env as string[] | undefined;
  env?.forEach((s, i) => {
    if (!/^[^=]+=/.test(s)) throw valueError(`${name}.Env[${i}]`, 'must have the form NAME=value', s);
  });
}

/**
 * A base image (checked by shape, src/image/image.ts's Image) whose layers are the overlay's
 * lower layers, in order: its blobs are what saveImage copies for them.
 */
function checkBase(v: unknown, lower: readonly unknown[], name: string): void {
  if (v === undefined) return;
  const b = v as { layers?: Array<{ layer?: unknown }>; layerBlobStream?: unknown; config?: unknown };
  if (typeof v !== 'object' || v === null || !Array.isArray(b.layers) || typeof b.layerBlobStream !== 'function' || typeof b.config !== 'object') {
    throw typeError(name, 'Image (from openImage)', v);
  }
  if (b.layers.length !== lower.length || b.layers.some((l, i) => l?.layer !== lower[i])) {
    throw valueError(name, 'must be the image the overlay was made from; the overlay was not made from the base image given (its lower layers differ)', v);
  }
}

/**
 * saveImage's arguments: the overlay, the target path, and every option (its TarWriteOptions
 * included), all before the first write.
 */
export function checkSaveImageArgs(ov: unknown, target: unknown, options: unknown): SaveImageOptions & CheckedTarWriteOptions {
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
  const o = optionsObject(options);
  const tar = checkTarWriteOptions(o);
  checkBase(o.base, lower, 'options.base');
  const ref = optionalString(o, 'ref', 'options');
  if (ref !== undefined && !REF_NAME.test(ref)) {
    throw valueError('options.ref', 'must be a ref name as image-spec annotations.md defines it (letters and digits, separated by one of - . _ : @ + or --, components joined by /)', ref);
  }
  optionalString(o, 'createdBy', 'options');
  if (o.config !== undefined) checkImageConfig(o.config, 'options.config');
  return { ...(o as SaveImageOptions), ...tar } as SaveImageOptions & CheckedTarWriteOptions;
}

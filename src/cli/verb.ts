import type { Image } from '../image/image.js';
import type { ImageManifest } from '../image/image-manifest.js';
import type { LayerRef } from '../overlay/provenance.js';
import { CliError, type CliIO } from './io.js';

/** The parsed options of one command line: --json, --help and the verb's own. */
export type Flags = Record<string, string | boolean | undefined>;

/** What a verb that looks into an image is run with: main has opened IMAGE (its first positional). */
export interface VerbContext {
  io: CliIO;
  json: boolean;
  image: Image;
  /** The positionals after IMAGE. */
  args: string[];
  flags: Flags;
}

/**
 * What a verb that reads only an image's manifest and config is run with: main has opened
 * them (openImageManifest, no layer read); `open` opens the whole image when the verb needs it.
 */
export interface ManifestContext extends Omit<VerbContext, 'image'> {
  image: ImageManifest;
  open: () => Promise<Image>;
}

/** What a verb whose IMAGE is optional is run with: it opens IMAGE itself (main's openImageArg). */
export interface Invocation {
  io: CliIO;
  json: boolean;
  positionals: string[];
  flags: Flags;
  /** Opens an IMAGE argument as main does (its forms, a tag, --platform). */
  open: (arg: string) => Promise<Image>;
}

/** One flag of a verb: its parseArgs type, the placeholder of its value, one line of help. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  /** The value's placeholder in help (`FILE`, `N`); string flags only. */
  value?: string;
  help: string;
}

interface VerbText {
  /** The command line after `layerfs`, as `--help` shows it (the shared flags are added there). */
  usage: string;
  /** One sentence: what the verb shows or does. */
  summary: string;
  /** The verb's own flags (--json, --help and --platform are everyone's). */
  options?: Record<string, FlagSpec>;
  /** The most positionals the verb takes (IMAGE included): more are a usage error. */
  maxPositionals: number;
  /** Paragraphs `layerfs help VERB` prints after the flags. */
  notes?: string[];
  /**
   * `'none'`: the verb reads no file's content (metadata, names, sizes only), so main opens
   * IMAGE with openImage's `content: 'none'`: every layer still read and verified, no content
   * kept in memory or a spill file. A content read by mistake is an error, never empty bytes.
   */
  content?: 'none';
  /** Refusals that need no image (flags that do not go together), made before main opens IMAGE. */
  refuseEarly?: (flags: Flags, io: CliIO) => void;
}

/**
 * One verb of the command line, with its usage and options beside its code. `takes: 'image'`:
 * IMAGE is required and main opens it; `takes: 'manifest'`: main opens IMAGE's manifest and
 * config only (inspect); `takes: 'positionals'`: IMAGE is optional (serve, demo).
 */
export type Verb = VerbText &
  ({ takes: 'image'; run: (ctx: VerbContext) => Promise<void> } | { takes: 'manifest'; run: (ctx: ManifestContext) => Promise<void> } | { takes: 'positionals'; run: (inv: Invocation) => Promise<void> });

/** Writes text to stdout, ending it with one newline. */
export const out = (ctx: { io: CliIO }, text: string) => ctx.io.stdout(text.endsWith('\n') ? text : text + '\n');
export const emitJson = (ctx: { io: CliIO }, value: unknown) => out(ctx, JSON.stringify(value, null, 2));
/**
 * A layer in JSON (docs/cli.md "JSON"): the lower layer's index (0 = bottom) as a number,
 * `"upper"` for the writable layer, null when nothing provides the path.
 */
export const layerJson = (l: LayerRef | undefined): number | 'upper' | null => (l === undefined ? null : l);
/** A layer in text: `L0` for the bottom lower layer, `upper`, `-` for none. */
export const layerName = (l: LayerRef | null | undefined) => (l === undefined || l === null ? '-' : l === 'upper' ? 'upper' : `L${l}`);
/** A digest's first 12 hex digits. */
export const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** The PATH argument inside the image (absolute; `etc` is `/etc`). */
export function pathArg(ctx: VerbContext, index = 0): string {
  const p = ctx.args[index];
  if (!p) throw new CliError('a PATH inside the image is needed', 2);
  return p.startsWith('/') ? p : `/${p}`;
}

/** What a failed lookup in the image means, in words (errno(3) codes the merged view gives). */
const LOOKUP_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory in the image',
  EISDIR: 'is a directory, not a file (ls or tree lists it)',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

/**
 * Runs a look-up of `path` in the merged view; its errno error is told as `PATH: what it
 * means` (the path the user gave) instead of Node's `ENOENT: ..., open '/x'`.
 */
export function lookingUp<T>(path: string, look: () => T): T {
  try {
    return look();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && Object.hasOwn(LOOKUP_ERRORS, code)) throw new CliError(`${path}: ${LOOKUP_ERRORS[code]}`);
    throw e;
  }
}

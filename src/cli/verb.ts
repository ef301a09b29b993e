import type { Image } from '../image/image.js';
import { layerLabel, type LayerRef } from '../overlay/provenance.js';
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

/** What a verb whose IMAGE is optional is run with: it reads its positionals itself. */
export interface Invocation {
  io: CliIO;
  json: boolean;
  positionals: string[];
  flags: Flags;
}

interface VerbText {
  /** The command line after `layerfs`, as `--help` shows it. */
  usage: string;
  /** One line: what the verb shows or does. */
  summary: string;
  /** The verb's own options for node:util parseArgs (--json and --help are everyone's). */
  options?: Record<string, { type: 'string' | 'boolean' }>;
}

/**
 * One verb of the command line, with its usage and options beside its code. `takes: 'image'`:
 * IMAGE is required and main opens it; `takes: 'positionals'`: IMAGE is optional (serve, demo).
 */
export type Verb = VerbText &
  ({ takes: 'image'; run: (ctx: VerbContext) => Promise<void> } | { takes: 'positionals'; run: (inv: Invocation) => Promise<void> });

/** Writes text to stdout, ending it with one newline. */
export const out = (ctx: VerbContext, text: string) => ctx.io.stdout(text.endsWith('\n') ? text : text + '\n');
export const emitJson = (ctx: VerbContext, value: unknown) => out(ctx, JSON.stringify(value, null, 2));
export const layerName = (l: LayerRef | undefined) => (l === undefined ? '-' : layerLabel(l));
/** A digest's first 12 hex digits. */
export const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** The PATH argument inside the image (absolute; `etc` is `/etc`). */
export function pathArg(ctx: VerbContext, index = 0): string {
  const p = ctx.args[index];
  if (!p) throw new CliError('a PATH inside the image is needed', 2);
  return p.startsWith('/') ? p : `/${p}`;
}

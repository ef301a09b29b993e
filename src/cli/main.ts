#!/usr/bin/env node
/**
 * `layerfs VERB IMAGE [ARGS]`: look into container images with overlayfs semantics. Every verb
 * takes --help, --json and --platform, reads what openImage reads, writes results to stdout,
 * progress to stderr only on a terminal, one line to stderr and a non-zero exit status on
 * error, and no colour under NO_COLOR or when not on a terminal.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ImageError } from '../image/errors.js';
import { programHelp, SHARED_FLAGS, verbHelp } from './help.js';
import { checkCredentialFlags } from './credentials.js';
import { imageCredentials, openImageArg, openManifestArg, refOptions } from './image-ref.js';
import { CliError, type CliIO } from './io.js';
import { allVerbs, verbNamed } from './registry.js';
import { isFuseHelperCall } from './fuse-helper-call.js';
import type { Flags, Verb } from './verb.js';

/** The package's version, from the package.json beside dist/ (and src/). */
function version(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  return pkg.version;
}

/** parseArgs' errors told in the command line's terms (its own text suggests `--` and quotes JavaScript). */
function usageError(name: string, e: unknown): CliError {
  const err = e as Error & { code?: string };
  const flag = /'(-[^' ]*)/.exec(err.message)?.[1];
  const name0 = flag?.split(' ')[0];
  const text =
    err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown flag ${flag}` :
    err.code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ? err.message.split('\n')[0]! :
    /argument missing/.test(err.message) ? `${name0} needs a value` :
    /ambiguous/.test(err.message) ? `${name0} needs a value (one starting with - is given as ${name0}=VALUE)` :
    `${name0} takes no value`;
  return new CliError(`${name}: ${text}; see layerfs help ${name}`, 2);
}

function parse(name: string, verb: Verb, rest: string[]) {
  const specs = { ...(verb.options ?? {}), ...SHARED_FLAGS };
  const options = Object.fromEntries(Object.entries(specs).map(([n, f]) => [n, { type: f.type, ...(n === 'help' ? { short: 'h' } : {}) }]));
  try {
    return parseArgs({ args: rest, allowPositionals: true, strict: true, options });
  } catch (e) {
    throw usageError(name, e);
  }
}

/** Library errors that ask for a library option, told with the command line's way of giving it. */
function inCliTerms(e: unknown): unknown {
  if (!(e instanceof ImageError)) return e;
  const m = e.message.replace(/; choose one with ref$/, '; choose one with IMAGE:TAG (for example oci:DIR:TAG)').replace(/no manifest has ref (.*); refs:/, 'no manifest is tagged $1; tags:');
  return m === e.message ? e : new CliError(m);
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    // mount.fuse3's call for `mount -t fuse.layerfs` (fuse-helper.ts): no verb.
    if (isFuseHelperCall(argv)) return await (await import('./fuse-helper.js')).runFuseHelper(argv, io);
    const [name, ...rest] = argv;
    if (name === undefined) {
      io.stderr(programHelp(await allVerbs()) + '\n');
      return 2;
    }
    if (name === '--help' || name === '-h') {
      io.stdout(programHelp(await allVerbs()) + '\n');
      return 0;
    }
    if (name === '--version' || name === '-V') {
      io.stdout(`layerfs ${version()}\n`);
      return 0;
    }
    if (name === 'help') {
      if (rest.length === 0) {
        io.stdout(programHelp(await allVerbs()) + '\n');
        return 0;
      }
      const asked = await verbNamed(rest[0]!);
      if (!asked || rest.length > 1) throw new CliError(`help: ${rest.length > 1 ? 'one VERB' : `no verb ${JSON.stringify(rest[0])}`}; see layerfs --help`, 2);
      io.stdout(verbHelp(asked) + '\n');
      return 0;
    }
    const verb = await verbNamed(name);
    if (!verb) throw new CliError(`unknown verb ${JSON.stringify(name)}; see layerfs --help`, 2);
    const { values, positionals } = parse(name, verb, rest);
    if (values.help) {
      io.stdout(verbHelp(verb) + '\n');
      return 0;
    }
    if (positionals.length > verb.maxPositionals) {
      throw new CliError(`${name}: unexpected argument ${JSON.stringify(positionals[verb.maxPositionals])} (usage: layerfs ${verb.usage})`, 2);
    }
    const flags = values as Flags;
    verb.refuseEarly?.(flags, io);
    const json = values.json === true;
    const warn = (line: string) => io.stderr(`layerfs: ${line}\n`);
    const told = <T>(opening: Promise<T>) => opening.catch((e: unknown) => {
      throw inCliTerms(e);
    });
    // A REF's store, --pull, --insecure and the credentials for its registry (looked up only when it is asked; never for a path).
    const refs = (arg: string) => {
      checkCredentialFlags(flags);
      return refOptions(flags, {}, () => imageCredentials(flags, arg));
    };
    // Every image a verb opens is closed when it ends: main() run in a process that goes on (a
    // test, a tool) would otherwise keep its layers, which the process's layer cache then hands
    // to the next open (image/layer-cache.ts).
    const images: Array<{ close(): void }> = [];
    const kept = <T extends { close(): void }>(image: T): T => (images.push(image), image);
    const open = async (arg: string) => kept(await told(openImageArg(arg, values.platform, warn, undefined, refs(arg))));
    if (verb.takes === 'positionals') {
      try {
        await verb.run({ io, json, positionals, flags, open });
      } finally {
        for (const image of images) image.close();
      }
      return 0;
    }
    const [imageArg, ...args] = positionals;
    if (!imageArg) throw new CliError(`${name}: IMAGE is needed (usage: layerfs ${verb.usage})`, 2);
    const opening = async <T>(opened: Promise<T>): Promise<T> => {
      if (io.stderrIsTTY) io.stderr(`opening ${imageArg}...\r`);
      const image = await told(opened);
      if (io.stderrIsTTY) io.stderr(' '.repeat(`opening ${imageArg}...`.length) + '\r');
      return image;
    };
    try {
      if (verb.takes === 'manifest') {
        const image = await opening(openManifestArg(imageArg, values.platform, warn, refs(imageArg)));
        // The whole image, when the verb asks for it: its platform warning was given already.
        await verb.run({ io, json, image, args, flags, open: async () => kept(await opening(openImageArg(imageArg, values.platform, undefined, verb.content, refs(imageArg)))) });
      } else {
        await verb.run({ io, json, image: kept(await opening(openImageArg(imageArg, values.platform, warn, verb.content, refs(imageArg)))), args, flags });
      }
    } finally {
      for (const image of images) image.close();
    }
    return 0;
  } catch (e) {
    const err = e as Error & { exitCode?: number };
    io.stderr(`layerfs: ${err.message.split('\n')[0]}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

/** Run as a program (also through node_modules/.bin/layerfs, a symlink), not imported. */
function invokedDirectly(): boolean {
  try {
    return process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

/** Aborted by the first SIGINT or SIGTERM: serve stops its server, mount unmounts, and they exit. */
function stopSignal(): AbortSignal {
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  return stop.signal;
}

/**
 * The reader went away (`layerfs cat IMG F | head -c 100`): stop at once and quietly, with the
 * status a Unix tool killed by SIGPIPE reports to its shell (128 + 13), as `yes | head -1`
 * does. Node ignores SIGPIPE, so the write fails with EPIPE instead.
 */
function quietOnClosedPipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    // Any other failure (ENOSPC on > /dev/full, EIO) is one line and status 1, as cat says
    // "cat: write error: No space left on device": never an uncaught exception's stack trace.
    process.stderr.write(`layerfs: cannot write to standard output: ${e.message}\n`);
    process.exit(1);
  });
}

if (invokedDirectly()) {
  quietOnClosedPipe();
  const tty = process.stderr.isTTY === true;
  const code = await main(process.argv.slice(2), {
    stdout: (t) => void process.stdout.write(t),
    stdoutStream: process.stdout,
    stderr: (t) => void process.stderr.write(t),
    stderrIsTTY: tty,
    stdoutIsTTY: process.stdout.isTTY === true,
    color: process.stdout.isTTY === true && !('NO_COLOR' in process.env && process.env.NO_COLOR !== ''),
    // Only serve and mount wait for a signal: other verbs keep Node's default (the first Ctrl-C exits).
    ...(process.argv[2] === 'serve' || process.argv[2] === 'mount' ? { signal: stopSignal() } : {}),
  });
  process.exitCode = code;
}

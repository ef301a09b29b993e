#!/usr/bin/env node
/**
 * `layerfs VERB IMAGE [ARGS]`: look into container images with overlayfs semantics. Every verb
 * takes --help and --json, reads what openImage reads, writes results to stdout, progress to
 * stderr only on a terminal, one line to stderr and a non-zero exit status on error, and no
 * colour under NO_COLOR or when not on a terminal.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openImage } from '../image/image.js';
import { CliError, type CliIO } from './io.js';
import { VERBS } from './registry.js';
import type { Flags } from './verb.js';

function help(): string {
  const w = Math.max(...Object.values(VERBS).map((v) => v.usage.length));
  return [
    'usage: layerfs VERB IMAGE [ARGS] [--json] [--help]',
    '',
    'IMAGE is an OCI image layout directory, an OCI archive, or a docker save archive.',
    '',
    ...Object.values(VERBS).map((v) => `  ${v.usage.padEnd(w)}  ${v.summary}`),
    '',
    'Exit status: 0 ok, 1 error (one line on stderr), 2 usage error. NO_COLOR turns colour off.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      io.stdout(help() + '\n');
      return name ? 0 : 2;
    }
    const verb = VERBS[name];
    if (!verb) throw new CliError(`unknown verb ${JSON.stringify(name)}; see layerfs --help`, 2);
    let parsed;
    try {
      parsed = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...(verb.options ?? {}) } });
    } catch (e) {
      throw new CliError(`${name}: ${(e as Error).message}`, 2);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout(`usage: layerfs ${verb.usage} [--json]\n\n${verb.summary}\n`);
      return 0;
    }
    const flags = values as Flags;
    if (verb.takes === 'positionals') {
      await verb.run({ io, json: values.json === true, positionals, flags });
      return 0;
    }
    const [imagePath, ...args] = positionals;
    if (!imagePath) throw new CliError(`usage: layerfs ${verb.usage}`, 2);
    if (io.stderrIsTTY) io.stderr(`opening ${imagePath}...\r`);
    const image = await openImage(imagePath);
    if (io.stderrIsTTY) io.stderr(' '.repeat(`opening ${imagePath}...`.length) + '\r');
    await verb.run({ io, json: values.json === true, image, args, flags });
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

/** Aborted by the first SIGINT or SIGTERM: serve stops its server and exits. */
function stopSignal(): AbortSignal {
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  return stop.signal;
}

if (invokedDirectly()) {
  const tty = process.stderr.isTTY === true;
  const code = await main(process.argv.slice(2), {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    stderrIsTTY: tty,
    color: process.stdout.isTTY === true && !('NO_COLOR' in process.env && process.env.NO_COLOR !== ''),
    // Only serve waits for a signal: other verbs keep Node's default (the first Ctrl-C exits).
    ...(process.argv[2] === 'serve' ? { signal: stopSignal() } : {}),
  });
  process.exitCode = code;
}

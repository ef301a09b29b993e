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
import { DEMO_IMAGE, walkthrough } from '../demo/walkthrough.js';
import { CliError, type CliIO } from './io.js';
import * as verbs from './verbs.js';
import { serveVerb } from './serve.js';

interface Verb {
  usage: string;
  summary: string;
  run?: (ctx: verbs.VerbContext) => Promise<void>;
  options?: Record<string, { type: 'string' | 'boolean' }>;
}

const VERBS: Record<string, Verb> = {
  inspect: { usage: 'inspect IMAGE', summary: 'manifest, config and a table of layers (digest, size, entries, added/changed/deleted)', run: verbs.inspect },
  tree: { usage: 'tree IMAGE [PATH] [--layers]', summary: 'the merged tree; --layers marks the layer of each entry, shadowed versions, whiteouts and opaque dirs', run: verbs.tree, options: { layers: { type: 'boolean' } } },
  ls: { usage: 'ls IMAGE [PATH]', summary: 'one directory of the merged view, with the layer each entry comes from', run: verbs.ls },
  why: { usage: 'why IMAGE PATH', summary: "every layer's version of a path, top-down: which wins and why", run: verbs.why },
  cat: { usage: 'cat IMAGE PATH', summary: 'a file of the merged view', run: verbs.cat },
  stat: { usage: 'stat IMAGE PATH', summary: 'metadata of a path in the merged view', run: verbs.stat },
  diff: { usage: 'diff IMAGE', summary: 'what each layer adds (A), changes (C), deletes (D) or makes opaque (O)', run: verbs.diff },
  analyze: { usage: 'analyze IMAGE [--ci] [--threshold 0.9]', summary: 'wasted bytes (files later layers overwrite or delete), efficiency, largest files; --ci exits 1 below the threshold', run: verbs.analyzeVerb, options: { ci: { type: 'boolean' }, threshold: { type: 'string' } } },
  export: { usage: 'export IMAGE (--tar FILE | --dir DIR [--overwrite | --allow-non-empty])', summary: 'the merged rootfs as one tar or into an empty directory; --overwrite finishes or redoes an export there, --allow-non-empty writes beside what is there', run: verbs.exportVerb, options: { tar: { type: 'string' }, dir: { type: 'string' }, overwrite: { type: 'boolean' }, 'allow-non-empty': { type: 'boolean' } } },
  commit: { usage: 'commit IMAGE --changes FILE.json --out DIR [--compression gzip|zstd|none]', summary: 'apply a JSON list of fs calls ([["writeFile","/etc/motd","hi"], ...]) and save the result as a new OCI image', run: verbs.commitVerb, options: { changes: { type: 'string' }, out: { type: 'string' }, compression: { type: 'string' } } },
  serve: { usage: 'serve [IMAGE] [--port N] [--host ADDR]', summary: 'the teaching page: the layer stack drawn, changed and animated in the browser (the bundled image by default)', options: { port: { type: 'string' }, host: { type: 'string' } } },
  demo: { usage: 'demo [IMAGE]', summary: 'a narrated walk through copy-up, whiteouts, opaque dirs and rename (the bundled image by default)' },
};

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
    if (name === 'demo') {
      await walkthrough(positionals[0] ?? DEMO_IMAGE, io.stdout);
      return 0;
    }
    if (name === 'serve') {
      await serveVerb({ io, json: values.json === true, image: await openImage(positionals[0] ?? DEMO_IMAGE), args: positionals.slice(1), flags: values as verbs.VerbContext['flags'] }, positionals[0] ?? 'the bundled demo image');
      return 0;
    }
    const [imagePath, ...args] = positionals;
    if (!imagePath) throw new CliError(`usage: layerfs ${verb.usage}`, 2);
    if (io.stderrIsTTY) io.stderr(`opening ${imagePath}...\r`);
    const image = await openImage(imagePath);
    if (io.stderrIsTTY) io.stderr(' '.repeat(`opening ${imagePath}...`.length) + '\r');
    await verb.run!({ io, json: values.json === true, image, args, flags: values as Record<string, string | boolean | undefined> });
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

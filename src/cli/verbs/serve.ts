import { DEMO_IMAGE } from '../../demo/walkthrough.js';
import { startTeachingServer } from '../../serve/server.js';
import { CliError } from '../io.js';
import type { Invocation, Verb } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const serveVerb: Verb = {
  takes: 'positionals',
  usage: 'serve [IMAGE] [--port N] [--host ADDR]',
  summary: 'the teaching page: the layer stack drawn, changed and animated in the browser (the bundled image by default)',
  options: {
    ...REF_FLAGS,
    port: { type: 'string', value: 'N', help: 'the port to listen on (default 8080; 0 picks a free one)' },
    host: { type: 'string', value: 'ADDR', help: 'the address to listen on (default 127.0.0.1, this machine only)' },
  },
  maxPositionals: 1,
  notes: ['Runs until Ctrl-C. --json prints one line {url, image, layerCount} once the page is served.'],
  run: serve,
};

/** `layerfs serve [IMAGE]`: starts the teaching page and runs until interrupted. */
async function serve({ io, json, positionals, flags, open }: Invocation): Promise<void> {
  const image = await open(positionals[0] ?? DEMO_IMAGE);
  const label = positionals[0] ?? 'the bundled demo image';
  const port = flags.port === undefined ? 8080 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port: expected a port number, not ${JSON.stringify(flags.port)}`, 2);
  const host = typeof flags.host === 'string' ? flags.host : '127.0.0.1';
  const server = await startTeachingServer({ name: label, layers: image.layers.map((l) => l.layer), port, host }).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(e.code === 'EADDRINUSE' ? `port ${port} is in use; pick another with --port` : e.message);
  });
  if (json) io.stdout(`${JSON.stringify({ url: server.url, image: label, layerCount: image.layers.length })}\n`);
  else io.stdout(`layerfs: the teaching page for ${label} is at ${server.url} (Ctrl-C stops it)\n`);
  const signal = io.signal;
  await new Promise<void>((resolve) => {
    if (!signal) return; // nothing can stop it but the process ending
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
}

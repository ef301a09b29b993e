import { startTeachingServer } from '../serve/server.js';
import { CliError } from './io.js';
import type { VerbContext } from './verbs.js';

/** `layerfs serve [IMAGE]`: starts the teaching page and runs until interrupted. */
export async function serveVerb(ctx: VerbContext, label: string): Promise<void> {
  const port = ctx.flags.port === undefined ? 8080 : Number(ctx.flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port: expected a port number, not ${JSON.stringify(ctx.flags.port)}`, 2);
  const host = typeof ctx.flags.host === 'string' ? ctx.flags.host : '127.0.0.1';
  const server = await startTeachingServer({ name: label, layers: ctx.image.layers.map((l) => l.layer), port, host }).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(e.code === 'EADDRINUSE' ? `port ${port} is in use; pick another with --port` : e.message);
  });
  if (ctx.json) ctx.io.stdout(`${JSON.stringify({ url: server.url, image: label, layers: ctx.image.layers.length })}\n`);
  else ctx.io.stdout(`layerfs: the teaching page for ${label} is at ${server.url} (Ctrl-C stops it)\n`);
  const signal = ctx.io.signal;
  await new Promise<void>((resolve) => {
    if (!signal) return; // nothing can stop it but the process ending
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
}

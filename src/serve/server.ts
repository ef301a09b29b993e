import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Layer } from '../layer/layer.js';
import { toPageImage } from './page-image.js';
import { ServeError } from './serve-error.js';

/**
 * Where `npm run build` puts the bundled page: next to the compiled server (dist/serve/page),
 * found as ../serve/page so that it is the same from a chunk of the CLI's bundle (dist/chunks/,
 * build/bundle.mjs). LAYERFS_PAGE_DIR points elsewhere (the tests bundle the page into a
 * temporary directory).
 */
export function builtPageDir(): string {
  return process.env.LAYERFS_PAGE_DIR ?? fileURLToPath(new URL('../serve/page', import.meta.url));
}

export interface TeachingServerOptions {
  /** A label for the page header (the image path). */
  name: string;
  /** The lower layers the page starts from, bottom first. */
  layers: readonly Layer[];
  /** The built page (app.js, index.html, style.css): see bundle-page.ts. {@link builtPageDir} by default. */
  pageDir?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /**
   * 127.0.0.1 by default: the page is for this machine unless asked otherwise. On a loopback
   * address, requests naming another host are refused (DNS rebinding).
   */
  host?: string;
  /**
   * Refuse images larger than this many bytes of content (the page receives every layer whole);
   * 64 MiB by default.
   */
  maxBytes?: number;
}

export interface TeachingServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1';
}

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.js.map': 'application/json',
};

/**
 * Serves the teaching page and the image it draws. The server holds no state of a visitor:
 * it hands out the page, its script and the image's layers (GET only); every change is made
 * by the engine in the browser.
 */
export async function startTeachingServer(options: TeachingServerOptions): Promise<TeachingServer> {
  const image = Buffer.from(JSON.stringify(toPageImage(options.name, options.layers)));
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  if (image.length > maxBytes) {
    throw new ServeError('ERR_IMAGE_TOO_LARGE', `${options.name}: ${image.length} bytes of layers is more than the teaching page takes (${maxBytes}); pick a smaller image`);
  }
  const files = new Map<string, Buffer>();
  const pageDir = options.pageDir ?? builtPageDir();
  for (const f of Object.keys(TYPES)) files.set(f, await readFile(join(pageDir, f)).catch((e: NodeJS.ErrnoException) => {
    if (f === 'app.js.map') return Buffer.from('{}');
    throw new ServeError('ERR_PAGE_NOT_BUILT', `the teaching page is not built (${e.code} on ${join(pageDir, f)}): run npm run build`, { cause: e });
  }));

  let allowedHosts: Set<string> | undefined;
  const server = createServer((req, res) => {
    const text = (status: number, message: string, headers: Record<string, string> = {}) =>
      void res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${message}\n`);
    // DNS rebinding: a web page the visitor opens elsewhere could name this server under its
    // own host name and read the image. On a loopback address only loopback names are served.
    if (allowedHosts && !allowedHosts.has((req.headers.host ?? '').toLowerCase())) return text(421, 'this server answers to its loopback address only');
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'GET or HEAD only: the page keeps its changes itself', { allow: 'GET, HEAD' });
    // Only origin-form targets ("/path?query"); the file map below is all there is to serve.
    const target = req.url ?? '/';
    if (!target.startsWith('/')) return text(400, 'bad request target');
    const path = target.split('?')[0]!;
    const file = path === '/' ? 'index.html' : path.slice(1);
    if (file === 'favicon.ico') return void res.writeHead(204).end();
    const body = file === 'image.json' ? image : files.get(file);
    if (!body) return text(404, `not found: ${path}`);
    res.writeHead(200, {
      'content-type': file === 'image.json' ? 'application/json' : TYPES[file]!,
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  if (isLoopback(address)) allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host}:${port}`]);
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy on 127.0.0.1 in front of a registry that counts what a client sends (for push;
 * counting-proxy.ts counts what the registry sends back, for pull): each
 * request's method, path and status, and its body's bytes as they arrive (not what the client
 * says it sent). Headers pass unchanged (Host included, so the registry's Locations name the
 * proxy and the upload stays on it).
 */
export interface UploadCountingProxy {
  host: string;
  requests: Array<{ method: string; path: string; status: number; bodyBytes: number }>;
  close(): Promise<void>;
}

export async function startUploadCountingProxy(upstream: string): Promise<UploadCountingProxy> {
  const [hostname, port] = upstream.split(':') as [string, string];
  const requests: UploadCountingProxy['requests'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res) => {
    const entry = { method: req.method!, path: req.url!, status: 0, bodyBytes: 0 };
    requests.push(entry);
    const out = request({ hostname, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (up) => {
      entry.status = up.statusCode!;
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.on('data', (c: Buffer) => void (entry.bodyBytes += c.length));
    req.pipe(out);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

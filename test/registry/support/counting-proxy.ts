import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A plain HTTP proxy on 127.0.0.1 in front of a registry (the reference registry, for the
 * resume test and the pull bench): it forwards every request as it is (with the registry's own
 * Host header, so its redirects name the registry), counts the body bytes it hands
 * back for each one, and, when `cut` says so for a request, ends that response's connection
 * after that many body bytes (a FIN, as a proxy or a load balancer that drops a stream does).
 */
export interface ProxyRecord {
  method: string;
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
  cut: boolean;
}

export interface CountingProxy {
  host: string;
  log: ProxyRecord[];
  /** Body bytes of every response so far. */
  bytes(): number;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string, cut?: (method: string, path: string, headers: IncomingHttpHeaders) => number | undefined): Promise<CountingProxy> {
  const [hostname, port] = target.split(':') as [string, string];
  const log: ProxyRecord[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = req.url!;
    const record: ProxyRecord = { method: req.method!, path, status: 0, bytes: 0, cut: false };
    if (typeof req.headers.range === 'string') record.range = req.headers.range;
    if (typeof req.headers['if-range'] === 'string') record.ifRange = req.headers['if-range'];
    log.push(record);
    const limit = cut?.(req.method!, path, req.headers);
    const upstream = request({ hostname, port: Number(port), method: req.method, path, headers: { ...req.headers, host: target } }, (up) => {
      record.status = up.statusCode!;
      res.writeHead(up.statusCode!, up.statusMessage, up.headers);
      up.on('data', (chunk: Buffer) => {
        if (record.cut) return;
        if (limit !== undefined && record.bytes + chunk.length >= limit) {
          const part = chunk.subarray(0, limit - record.bytes);
          record.bytes += part.length;
          record.cut = true;
          up.destroy();
          res.write(part, () => res.socket?.end());
          return;
        }
        record.bytes += chunk.length;
        if (!res.write(chunk)) {
          up.pause();
          res.once('drain', () => up.resume());
        }
      });
      up.on('end', () => record.cut || res.end());
    });
    upstream.on('error', () => res.destroy());
    // The client gone before the answer ended (it read enough, or failed): the upstream request
    // goes too, or its connection stays open, paused on a 'drain' that never comes.
    res.once('close', () => res.writableFinished || upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${own}`,
    log,
    bytes: () => log.reduce((n, r) => n + r.bytes, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

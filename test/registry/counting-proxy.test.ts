import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { startCountingProxy } from './support/counting-proxy.js';

/**
 * The test proxy itself (test/registry/support/counting-proxy.ts): a client that goes away
 * mid-body takes the upstream request with it, so an endless or stalled registry answer does
 * not keep a connection and a paused stream alive for the rest of the run.
 */
it('a client that goes away mid-body ends the upstream connection', async () => {
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
  const upstream = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 << 10, 1);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    res.once('close', upstreamClosed);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const proxy = await startCountingProxy(`127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(`http://${proxy.host}/v2/endless`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.once('error', reject);
      req.end();
    });
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 2 s'), 2000))]);
    expect(outcome).toBe('closed');
  } finally {
    await proxy.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});

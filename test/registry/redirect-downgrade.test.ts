import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/registry/errors.js';
import { pull } from '../../src/registry/pull.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { scratch } from '../support/scratch.js';

/**
 * docs/api.md: plain HTTP only to 127.0.0.1/localhost or with `insecure`; "a redirect from
 * https down to http is refused (ERR_INSECURE)". That holds for a redirect to loopback too: a
 * registry reached over https (a host that is not this machine's loopback, so https is
 * required) whose blob is a 307 to http://127.0.0.1:PORT would otherwise have layerfs ask a
 * local service in plain HTTP. The registry here is an https server on this machine's first
 * non-loopback IPv4 address (self-signed: NODE_TLS_REJECT_UNAUTHORIZED=0 for this file only).
 */
const { fresh } = scratch('layerfs-downgrade-');
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [] }));
const address = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

let registry: TlsServer;
let local: Server;
let host = '';
let localPort = 0;
const localRequests: string[] = [];
const tlsBefore = process.env.NODE_TLS_REJECT_UNAUTHORIZED;

beforeAll(async () => {
  if (!address) return;
  const dir = fresh('tls');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=layerfs-test', '-addext', `subjectAltName=IP:${address}`], { stdio: 'ignore' });
  local = createServer((req, res) => {
    localRequests.push(req.url!);
    res.writeHead(200, { 'content-length': String(config.length) }).end(config);
  });
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', () => r()));
  localPort = (local.address() as AddressInfo).port;
  registry = createTlsServer({ key: fs.readFileSync(join(dir, 'key.pem')), cert: fs.readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    if (req.url === '/v2/app/manifests/latest') return void res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(manifest.length) }).end(manifest);
    if (req.url === `/v2/app/blobs/${sha(config)}`) return void res.writeHead(307, { location: `http://127.0.0.1:${localPort}/blob` }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => registry.listen(0, address, () => r()));
  host = `${address}:${(registry.address() as AddressInfo).port}`;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
});
afterAll(() => {
  if (tlsBefore === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  else process.env.NODE_TLS_REJECT_UNAUTHORIZED = tlsBefore;
  registry?.close();
  local?.close();
});

// Without a non-loopback address the case cannot be made: said loudly, and a failure under CI.
if (!address) {
  console.error('\n*** NO NON-LOOPBACK IPv4 ADDRESS: the https-to-loopback redirect test (test/registry/redirect-downgrade) did not run ***\n');
  if (process.env.CI) describe('redirect-downgrade', () => it('has a non-loopback IPv4 address', () => { throw new Error('no non-loopback IPv4 address: the https-to-loopback redirect test did not run'); }));
}

describe('a redirect from https to plain HTTP on loopback', () => {
  it.runIf(address !== undefined)('is ERR_INSECURE; the loopback server is never asked', async () => {
    const e = await pull(`${host}/app:latest`, { sink: new MemoryStore() }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('ERR_INSECURE');
    expect(localRequests).toEqual([]);
  });
});

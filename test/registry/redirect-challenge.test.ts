import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/registry/errors.js';
import { pull } from '../../src/registry/pull.js';
import { MemoryStore } from '../../src/store/memory-store.js';

/**
 * The credentials go only to the registry asked (and the token realm its own challenge names).
 * A request the registry redirects to another origin (blob storage, a CDN) carries no
 * Authorization; a 401 that other origin answers is not the registry's challenge: its realm is
 * another server's, which would be sent the registry's credentials (Basic) to get a token. Two
 * servers here: the registry, whose config blob is a 307 to the other origin, and the other
 * origin, which answers 401 with a Bearer realm of its own and records what reaches that realm.
 */
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [] }));
const credentials = { username: 'alice', password: 'registry-secret-7' };

let registry: Server;
let other: Server;
let registryHost = '';
let otherHost = '';
/** Each request that reached the other origin: its path and its Authorization header. */
const reached: Array<{ path: string; authorization?: string }> = [];

const listen = (s: Server) => new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`127.0.0.1:${(s.address() as AddressInfo).port}`)));

beforeAll(async () => {
  other = createServer((req, res) => {
    reached.push({ path: req.url!, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    if (req.url!.startsWith('/token')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'other-token' }));
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${otherHost}/token",service="other"` }).end();
  });
  otherHost = await listen(other);
  registry = createServer((req, res) => {
    if (req.url === '/v2/app/manifests/latest') return void res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(manifest.length) }).end(manifest);
    if (req.url === `/v2/app/blobs/${sha(config)}`) return void res.writeHead(307, { location: `http://${otherHost}/storage/config` }).end();
    res.writeHead(404).end();
  });
  registryHost = await listen(registry);
});
afterAll(() => {
  registry?.close();
  other?.close();
});

describe('a 401 from the origin a request was redirected to', () => {
  it('is ERR_UNAUTHORIZED; its realm is never sent the registry\'s credentials', async () => {
    const e = await pull(`${registryHost}/app:latest`, { sink: new MemoryStore(), credentials }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('ERR_UNAUTHORIZED');
    expect((e as RegistryError).digest).toBe(sha(config));
    expect(reached.filter((r) => r.path.startsWith('/token'))).toEqual([]);
    expect(reached.filter((r) => r.authorization !== undefined)).toEqual([]);
  });
});

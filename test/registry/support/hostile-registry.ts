import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

/**
 * A registry written to misbehave, on 127.0.0.1 (issue 18, "A hostile registry"): it serves an
 * OCI layout's image (the demo's) correctly under `/v2/good/`, and under each other repository
 * name one way of being wrong. The tests check that each gives a typed error in bounded time
 * and that nothing unverified reaches the sink. Every request is recorded in `requests`.
 */
export interface HostileRegistry {
  host: string;
  /** `METHOD path` of each request, in order. */
  requests: string[];
  /** Each response of the `cut-*` repositories for the first layer: the Range asked, the status, and the body bytes written. */
  cuts: Array<{ repo: string; range?: string; ifRange?: string; status: number; bytes: number }>;
  /** Where the `cut-*` cases cut the first layer's body (half of it). */
  cutAt: number;
  /** The demo's manifest digest and bytes, and its blobs' digests. */
  manifestDigest: string;
  layerDigest: string;
  /** What a push committed to the `push-*` repositories: blobs by `repo@digest`, manifests by `repo:reference`. */
  stored: Map<string, Buffer>;
  close(): Promise<void>;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startHostileRegistry(layout: string): Promise<HostileRegistry> {
  const index = JSON.parse(fs.readFileSync(join(layout, 'index.json'), 'utf8'));
  const blob = (digest: string) => fs.readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)));
  const manifestDigest = index.manifests[0].digest as string;
  const manifest = blob(manifestDigest);
  const parsed = JSON.parse(manifest.toString());
  const layerDigest = parsed.layers[0].digest as string;
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let tokensIssued = 0;
  const cuts: HostileRegistry['cuts'] = [];
  const layer = blob(layerDigest);
  const cutAt = layer.length >> 1;
  const etag = `"${layerDigest}"`;

  const sendManifest = (res: ServerResponse, body: Buffer, headers: Record<string, string> = {}) => {
    res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(body.length), 'docker-content-digest': sha(body), ...headers });
    res.end(body);
  };
  const sendBlob = (res: ServerResponse, digest: string) => {
    const body = blob(digest);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.end(body);
  };
  /** A manifest of the demo's config and layers whose first layer descriptor is replaced. */
  const withLayer = (layer: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...parsed, layers: [layer, ...parsed.layers.slice(1)] }));
  const endless = (res: ServerResponse, headers: Record<string, string>) => {
    res.writeHead(200, headers);
    const chunk = Buffer.alloc(64 << 10, 0x20);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  };

  const stored = new Map<string, Buffer>();
  const pushing = pushHandler(stored);

  /**
   * The first layer, cut: the first request (no Range) gets the headers of the whole blob and
   * `cutAt` bytes, then its connection is destroyed (`end`: the body ends cleanly there, with no
   * Content-Length). A Range request is answered by `onRange`.
   */
  const cutLayer = (repo: string, req: IncomingMessage, res: ServerResponse, onRange: (from: number) => { status: number; body: Buffer; headers?: Record<string, string>; cut?: number; unsized?: boolean }) => {
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    const log = { repo, ...(range ? { range } : {}), ...(typeof ifRange === 'string' ? { ifRange } : {}), status: 200, bytes: 0 };
    cuts.push(log);
    const write = (status: number, body: Buffer, headers: Record<string, string>, cut: number | undefined, clean: boolean) => {
      log.status = status;
      res.writeHead(status, clean ? headers : { ...headers, 'content-length': String(body.length) });
      const sent = cut === undefined ? body : body.subarray(0, cut);
      log.bytes = sent.length;
      if (clean || cut === undefined) return void res.end(sent);
      res.write(sent, () => res.socket?.end());
    };
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (!m) return write(200, layer, { etag }, cutAt, repo === 'cut-clean');
    const answer = onRange(Number(m[1]));
    write(answer.status, answer.body, answer.headers ?? {}, answer.cut, answer.unsized ?? false);
  };
  const partial = (from: number, start = from) => ({ status: 206, body: layer.subarray(start), headers: { etag, 'content-range': `bytes ${start}-${layer.length - 1}/${layer.length}` } });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (url.pathname.startsWith('/v2/push-')) return void pushing(req, res, url).catch(() => res.destroy());
    if (url.pathname === '/token') {
      tokensIssued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `tok-${tokensIssued}-secret`, expires_in: 300 }));
      return;
    }
    // Routed on the decoded path, as distribution's (Go's URL.Path: /%762/x/manifests/t is /v2/x/manifests/t).
    const decoded = (() => {
      try {
        return decodeURIComponent(url.pathname);
      } catch {
        return url.pathname;
      }
    })();
    const m = /^\/v2\/([a-z0-9-]+)\/(manifests|blobs)\/(.+)$/.exec(decoded);
    if (!m) {
      res.writeHead(url.pathname === '/v2/' ? 200 : 404).end();
      return;
    }
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    const isManifest = kind === 'manifests';
    const knownBlob = !isManifest && fs.existsSync(join(layout, 'blobs', 'sha256', ref.slice(7)));
    const serveGood = () => (isManifest ? sendManifest(res, manifest) : knownBlob ? sendBlob(res, ref) : res.writeHead(404).end());
    switch (repo) {
      case 'good':
        return serveGood();
      case 'wrong-blob':
        // The first layer's bytes replaced by others of the same length.
        if (!isManifest && ref === layerDigest) {
          const body = Buffer.from(blob(ref));
          body[body.length - 1] = body[body.length - 1]! ^ 0xff;
          res.writeHead(200, { 'content-length': String(body.length) });
          return void res.end(body);
        }
        return serveGood();
      case 'other-manifest': {
        // Whatever is asked for, another manifest (its own Docker-Content-Digest is honest).
        if (isManifest) return sendManifest(res, Buffer.from(JSON.stringify({ ...parsed, annotations: { other: 'repository' } })));
        return serveGood();
      }
      case 'lying-digest-header':
        if (isManifest) return sendManifest(res, manifest, { 'docker-content-digest': `sha256:${'1'.repeat(64)}` });
        return serveGood();
      case 'endless-manifest':
        if (isManifest) return endless(res, { 'content-type': OCI_MANIFEST });
        return serveGood();
      case 'huge-manifest-length':
        if (isManifest) {
          res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(5 << 20) });
          return void res.write(Buffer.alloc(1024, 0x20));
        }
        return serveGood();
      case 'huge-config': {
        // A manifest whose config descriptor says 64 MiB, and a config blob without end.
        const hugeConfig = `sha256:${'5'.repeat(64)}`;
        if (isManifest) return sendManifest(res, Buffer.from(JSON.stringify({ ...parsed, config: { ...parsed.config, digest: hugeConfig, size: 64 << 20 } })));
        if (ref === hugeConfig) return endless(res, {});
        return serveGood();
      }
      case 'endless-blob':
        // No Content-Length, and bytes without end.
        if (!isManifest && ref === layerDigest) return endless(res, {});
        return serveGood();
      case 'short-blob':
        if (!isManifest && ref === layerDigest) {
          const body = blob(ref);
          res.writeHead(200, {});
          return void res.end(body.subarray(0, body.length - 100));
        }
        return serveGood();
      case 'cut-drop':
      case 'cut-clean':
        // A body cut at half, by a dropped connection or a clean early end; the Range request is honoured.
        if (!isManifest && ref === layerDigest) return cutLayer(repo, req, res, (from) => (req.headers['if-range'] === etag ? partial(from) : { status: 200, body: layer }));
        return serveGood();
      case 'cut-ignores-range':
        // The resume is answered with the whole blob (HTTP 200), as a server without Range support does.
        if (!isManifest && ref === layerDigest) return cutLayer(repo, req, res, () => ({ status: 200, body: layer }));
        return serveGood();
      case 'cut-wrong-range':
        // The resume is answered from one byte earlier than asked.
        if (!isManifest && ref === layerDigest) return cutLayer(repo, req, res, (from) => partial(from, from - 1));
        return serveGood();
      case 'cut-range-overrun':
        // The resume's 206 says it carries 100 bytes (Content-Range) and, with no Content-Length,
        // sends those and then zeros up to the blob's size (what a store would hash as the rest).
        if (!isManifest && ref === layerDigest) return cutLayer(repo, req, res, (from) => ({ status: 206, body: Buffer.concat([layer.subarray(from, from + 100), Buffer.alloc(layer.length - from - 100)]), headers: { etag, 'content-range': `bytes ${from}-${from + 99}/${layer.length}` }, unsized: true }));
        return serveGood();
      case 'cut-range-overrun-end':
        // The resume's 206 names the rest of the blob and sends 100 bytes more.
        if (!isManifest && ref === layerDigest) return cutLayer(repo, req, res, (from) => ({ status: 206, body: Buffer.concat([layer.subarray(from), Buffer.alloc(100)]), headers: { etag, 'content-range': `bytes ${from}-${layer.length - 1}/${layer.length}` }, unsized: true }));
        return serveGood();
      case 'cut-always':
        // Every answer, the 206s too, is cut after 1000 bytes.
        if (!isManifest && ref === layerDigest) return cutLayer(repo, req, res, (from) => ({ ...partial(from), cut: 1000 }));
        return serveGood();
      case 'tag-redirect':
        // The tag answered with a redirect to another repository's manifest on the same registry.
        if (isManifest) return void res.writeHead(307, { location: `/v2/good/manifests/${manifestDigest}` }).end();
        return serveGood();
      case 'tag-redirect-host':
        // The same, through another name for the registry's own address (localhost for 127.0.0.1): another origin.
        if (isManifest) return void res.writeHead(307, { location: `http://localhost:${(server.address() as AddressInfo).port}/v2/good/manifests/${manifestDigest}` }).end();
        return serveGood();
      case 'tag-redirect-encoded':
        // The same, on the registry, with the path's 'v' percent-encoded: /%762/good/... is routed as /v2/good/....
        if (isManifest) return void res.writeHead(307, { location: `/%762/good/manifests/${manifestDigest}` }).end();
        return serveGood();
      case 'bad-platform-index':
        // An index whose one entry's platform is no os/architecture strings; its manifest is the good one.
        if (isManifest && ref === 'latest') {
          const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, platform: { os: 5, architecture: 'amd64' } }] }));
          return sendManifest(res, body, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        }
        return serveGood();
      case 'foreign-blobs':
        // The demo's manifest, whose first layer this repository does not hold (only `good` does).
        if (isManifest) return sendManifest(res, manifest);
        if (ref === layerDigest) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] }));
        return serveGood();
      case 'blob-elsewhere':
        // Every blob redirected to another repository's path, as storage redirects are: legitimate.
        if (isManifest) return sendManifest(res, manifest);
        return void res.writeHead(307, { location: `/v2/good/blobs/${ref}` }).end();
      case 'redirect-loop':
        res.writeHead(302, { location: url.pathname }).end();
        return;
      case 'redirect-to-http':
        res.writeHead(307, { location: 'http://registry.invalid/elsewhere' }).end();
        return;
      case 'stall-body':
        if (!isManifest && ref === layerDigest) {
          const body = blob(ref);
          res.writeHead(200, { 'content-length': String(body.length) });
          return void res.write(body.subarray(0, body.length >> 1));
        }
        return serveGood();
      case 'stall-headers':
        return; // Never answers.
      case 'traversal':
        if (isManifest) return sendManifest(res, withLayer({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 'sha256:../../../etc/passwd', size: 10 }));
        return serveGood();
      case 'schema1':
        if (isManifest) return sendManifest(res, Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'schema1', tag: 'latest', fsLayers: [] })), { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
        return serveGood();
      case 'bearer':
      case 'bearer-loop': {
        const auth = req.headers.authorization ?? '';
        const accepted = repo === 'bearer' && /^Bearer tok-\d+-secret$/.test(auth);
        if (!accepted) {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="hostile",scope="repository:${repo}:pull"`, 'content-type': 'application/json' });
          // An error body that echoes the header it was sent, as a careless server might.
          return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: `rejected ${auth}` }] }));
        }
        return serveGood();
      }
      case 'realm-http-remote':
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://auth.invalid/token",service="hostile"' }).end();
        return;
      default:
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
    }
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    cuts,
    cutAt,
    manifestDigest,
    layerDigest,
    stored,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The push side (distribution-spec "Pushing blobs", "Pushing manifests") under `/v2/push-*`:
 * `push-good` is strict where distribution 2.8.2 is lax (a PATCH's Content-Range must start
 * where the upload is and span exactly its body, else 416; the PUT's digest must be the
 * assembled bytes'); each other name breaks one rule of the protocol.
 */
function pushHandler(stored: Map<string, Buffer>) {
  const uploads = new Map<string, Buffer[]>();
  let next = 0;
  const read = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => resolve(Buffer.concat(parts)));
      req.on('error', reject);
    });
  const length = (id: string) => uploads.get(id)!.reduce((n, b) => n + b.length, 0);
  const error = (res: ServerResponse, status: number, code: string) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code, message: code.toLowerCase() }] }));

  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const m = /^\/v2\/(push-[a-z0-9-]+)\/(blobs\/uploads\/([^/]*)|blobs\/([^/]+)|manifests\/([^/]+))$/.exec(url.pathname);
    if (!m) return error(res, 404, 'NAME_UNKNOWN');
    const [, repo, , uploadId, blobDigest, manifestRef] = m as unknown as [string, string, string, string | undefined, string | undefined, string | undefined];
    const method = req.method!;
    if (repo === 'push-401-loop') {
      // Every request refused, whatever token it carries.
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="hostile",scope="repository:${repo}:pull,push"` }).end();
      return;
    }
    if (method === 'HEAD' && repo === 'push-head-redirect' && manifestRef !== undefined) {
      // A manifest's HEAD answered by another repository's (push-good's) manifest path.
      return void res.writeHead(307, { location: `/v2/push-good/manifests/${manifestRef}` }).end();
    }
    if (repo === 'push-anon-read' && method !== 'HEAD' && req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
      // Reads are anonymous, writes need Basic credentials (zot's anonymousPolicy, a Nexus or
      // Artifactory repository open for reads): a push's HEADs get no challenge.
      req.resume();
      return void res.writeHead(401, { 'www-authenticate': 'Basic realm="push-anon-read"' }).end();
    }
    if (method === 'HEAD') {
      const key = blobDigest !== undefined ? `${repo}@${blobDigest}` : `${repo}:${manifestRef}`;
      return void res.writeHead(stored.has(key) ? 200 : 404).end();
    }
    if (method === 'POST' && uploadId === '') {
      const id = `u${next++}`;
      uploads.set(id, []);
      const location = repo === 'push-location-elsewhere' ? `http://elsewhere.invalid/v2/${repo}/blobs/uploads/${id}` : `/v2/${repo}/blobs/uploads/${id}?_state=s${id}`;
      return void res.writeHead(202, { location, range: '0-0', 'content-length': '0' }).end();
    }
    if (uploadId === undefined || !uploads.has(uploadId)) {
      if (method === 'PUT' && manifestRef !== undefined) {
        const body = await read(req);
        stored.set(`${repo}:${manifestRef}`, body);
        const digest = repo === 'push-manifest-digest' ? `sha256:${'3'.repeat(64)}` : sha(body);
        return void res.writeHead(201, { 'docker-content-digest': digest, location: `/v2/${repo}/manifests/${digest}` }).end();
      }
      return error(res, 404, 'BLOB_UPLOAD_UNKNOWN');
    }
    if (method === 'DELETE') {
      uploads.delete(uploadId);
      return void res.writeHead(204).end();
    }
    if (repo === 'push-stall') return; // reads nothing of the body, never answers
    if (repo === 'push-stall-answer') return void req.resume(); // reads the body, never answers
    const body = await read(req);
    const have = length(uploadId);
    if (method === 'PATCH') {
      const range = /^(\d+)-(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
      if (repo === 'push-good' && (!range || Number(range[1]) !== have || Number(range[2]) !== have + body.length - 1 || Number(req.headers['content-length']) !== body.length)) {
        return void res.writeHead(416, { range: `0-${have - 1}` }).end();
      }
      uploads.get(uploadId)!.push(body);
      const end = have + body.length - 1;
      const answered = repo === 'push-range-short' ? '0-99' : repo === 'push-range-ahead' ? `0-${end + 100}` : repo === 'push-range-missing' ? undefined : `0-${end}`;
      return void res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${uploadId}?_state=p${have}`, ...(answered ? { range: answered } : {}), 'content-length': '0' }).end();
    }
    if (method === 'PUT') {
      uploads.get(uploadId)!.push(body);
      const whole = Buffer.concat(uploads.get(uploadId)!);
      uploads.delete(uploadId);
      const digest = url.searchParams.get('digest');
      if (digest !== sha(whole)) return error(res, 400, 'DIGEST_INVALID');
      stored.set(`${repo}@${digest}`, whole);
      const answered = repo === 'push-blob-digest' ? `sha256:${'4'.repeat(64)}` : digest;
      return void res.writeHead(201, { 'docker-content-digest': answered, location: `/v2/${repo}/blobs/${digest}` }).end();
    }
    return error(res, 405, 'UNSUPPORTED');
  };
}

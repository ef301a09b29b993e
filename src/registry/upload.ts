import type { Descriptor } from '../image/descriptor.js';
import type { OpenResponse, RegistryClient, RequestBody, RequestContext } from './client.js';
import { RegistryError } from './errors.js';
import { MANIFEST_ACCEPT, manifestRedirect } from './manifest.js';
import { SourceBlob } from './source-blob.js';

// The upload side of the distribution spec ("Pushing blobs", "Pushing manifests"): a blob
// HEADed, mounted from another repository or uploaded (POST, then one PUT ?digest=, or PATCH
// chunks with Content-Range, each answer's Range checked, then the PUT), a manifest PUT with
// its exact bytes.

const OCTET_STREAM = 'application/octet-stream';
/** Only the start of an answer's body is read before the connection is reused. */
const DRAIN_MAX = 64 << 10;

/** How a push uploads: the token scopes of its requests, the chunk size, the repository to mount from. */
export interface UploadPlan {
  scopes: readonly string[];
  chunkSize: number;
  from?: string;
}

export type BlobOutcome = 'present' | 'mounted' | 'pushed';

/** A URL as messages name it: without its query (an upload's `_state`, which may be long). */
const shown = (u: URL) => `${u.origin}${u.pathname}`;

/** Reads what little an answer's body holds, so its connection is reused; a longer one is cut. */
async function drain(client: RegistryClient, res: OpenResponse, ctx: RequestContext): Promise<void> {
  try {
    await client.readAll(res, DRAIN_MAX, ctx);
  } catch {
    res.close();
  }
}

/** HEAD `/v2/<name>/<kind>/<digest>`: whether the repository has it (200), or not (404). */
async function present(client: RegistryClient, kind: 'blobs' | 'manifests', desc: Descriptor, scopes: readonly string[]): Promise<boolean> {
  const url = new URL(`/v2/${client.ref.repository}/${kind}/${desc.digest}`, client.base);
  // A manifest's HEAD redirected to another repository's path would count that one's manifest as here (manifest.ts).
  const refuse = kind === 'manifests' ? { refuseRedirect: manifestRedirect(client.ref.repository, desc.digest) } : {};
  const ctx = { what: `${kind === 'blobs' ? 'blob' : 'manifest'} ${desc.digest} (${shown(url)})`, digest: desc.digest, scopes, ...refuse };
  const res = await client.send('HEAD', url, kind === 'manifests' ? { accept: MANIFEST_ACCEPT } : {}, ctx);
  res.close();
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw await client.statusError(res, { ...ctx, method: 'HEAD' }, undefined, 'ERR_UPLOAD');
}

/** The upload's next URL: the answer's Location, relative to the request, and on the registry's own origin only. */
function nextLocation(client: RegistryClient, res: OpenResponse, from: URL, ctx: RequestContext & { method: string }): URL {
  const location = res.headers.get('location');
  if (!location) throw client.error('ERR_UPLOAD', `${ctx.method} ${ctx.what} answered HTTP ${res.status} without a Location for the upload`, ctx.digest);
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    throw client.error('ERR_UPLOAD', `${ctx.method} ${ctx.what} answered the upload Location ${JSON.stringify(location.slice(0, 200))}, not a URL`, ctx.digest);
  }
  // The blob's bytes and the credentials go to the registry asked, never to a host it names.
  if (url.origin !== client.base.origin) throw client.error('ERR_UPLOAD', `${ctx.method} ${ctx.what} answered an upload Location on another host (${url.origin}), not ${client.base.origin}: refused`, ctx.digest);
  return url;
}

/** A 201 Created whose Docker-Content-Digest, when sent, is the digest pushed. */
async function created(client: RegistryClient, res: OpenResponse, desc: Descriptor, ctx: RequestContext & { method: string }): Promise<void> {
  if (res.status !== 201) throw await client.statusError(res, ctx, undefined, 'ERR_UPLOAD');
  const announced = res.headers.get('docker-content-digest');
  await drain(client, res, ctx);
  if (announced !== null && announced !== desc.digest) throw client.error('ERR_DIGEST', `${ctx.method} ${ctx.what} answered Docker-Content-Digest ${JSON.stringify(announced.slice(0, 150))}, not the digest pushed`, desc.digest);
}

/**
 * Starts the blob's upload: a mount from `plan.from` when given (201: done; 202: the registry
 * could not mount it and opened an upload instead; refused: a plain upload), else a POST.
 * Returns the upload's Location, or undefined when mounted.
 */
async function startUpload(client: RegistryClient, desc: Descriptor, plan: UploadPlan): Promise<URL | undefined> {
  const start = new URL(`/v2/${client.ref.repository}/blobs/uploads/`, client.base);
  if (plan.from !== undefined) {
    const url = new URL(start);
    url.searchParams.set('mount', desc.digest);
    url.searchParams.set('from', plan.from);
    const ctx = { what: `mount of blob ${desc.digest} from ${plan.from} (${shown(url)})`, digest: desc.digest, method: 'POST', scopes: [...plan.scopes, `repository:${plan.from}:pull`] };
    let res: OpenResponse | undefined;
    try {
      res = await client.send('POST', url, {}, ctx);
    } catch (e) {
      // No pull right on the other repository: upload the blob instead.
      if (!(e instanceof RegistryError && e.code === 'ERR_UNAUTHORIZED')) throw e;
    }
    if (res?.status === 201) {
      await created(client, res, desc, ctx);
      return undefined;
    }
    if (res?.status === 202) {
      const location = nextLocation(client, res, url, ctx);
      await drain(client, res, ctx);
      return location;
    }
    if (res) throw await client.statusError(res, ctx, undefined, 'ERR_UPLOAD');
  }
  const ctx = { what: `upload of blob ${desc.digest} (${shown(start)})`, digest: desc.digest, method: 'POST', scopes: plan.scopes };
  const res = await client.send('POST', start, {}, ctx);
  if (res.status !== 202) throw await client.statusError(res, ctx, undefined, 'ERR_UPLOAD');
  const location = nextLocation(client, res, start, ctx);
  await drain(client, res, ctx);
  return location;
}

/** The runs `take` hands out, counted into `sent` as the request sends them. */
async function* counted(runs: AsyncIterable<Uint8Array>, sent: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const run of runs) {
    sent.bytes += run.length;
    yield run;
  }
}

/** `0-<end>` as a chunk's answer gives it (distribution: `0-N`; some registries `bytes=0-N`), or undefined. */
function rangeEnd(range: string | null): number | undefined {
  const m = range === null ? null : /^(?:bytes=)?0-(\d+)$/.exec(range.trim());
  return m ? Number(m[1]) : undefined;
}

/**
 * Sends the blob's bytes into the upload at `location`: one PUT ?digest= up to
 * `plan.chunkSize`, else PATCH chunks of that size, each with `Content-Range: start-end` and
 * Content-Length, its 202's Range checked to be exactly the bytes sent so far and its Location
 * followed, then the PUT ?digest= that commits. The bytes come from `blob`, checked as read.
 */
async function sendBytes(client: RegistryClient, desc: Descriptor, location: URL, blob: SourceBlob, plan: UploadPlan, sent: { bytes: number }): Promise<void> {
  const headers = { 'content-type': OCTET_STREAM };
  const what = (u: URL) => `upload of blob ${desc.digest} (${shown(u)})`;
  let at = location;
  if (desc.size > plan.chunkSize) {
    for (let offset = 0; offset < desc.size; ) {
      const n = Math.min(plan.chunkSize, desc.size - offset);
      const end = offset + n - 1;
      const ctx = { what: what(at), digest: desc.digest, method: 'PATCH', scopes: plan.scopes };
      const body: RequestBody = { length: n, chunks: counted(blob.take(n), sent) };
      const res = await client.send('PATCH', at, { ...headers, 'content-range': `${offset}-${end}` }, ctx, body);
      if (res.status !== 202) throw await client.statusError(res, ctx, undefined, 'ERR_UPLOAD');
      const range = res.headers.get('range');
      if (rangeEnd(range) !== end) throw client.error('ERR_UPLOAD', `PATCH ${ctx.what} of bytes ${offset}-${end} answered Range ${range === null ? '(none)' : JSON.stringify(range.slice(0, 100))}, not 0-${end}: the registry does not hold the bytes sent`, desc.digest);
      at = nextLocation(client, res, at, ctx);
      await drain(client, res, ctx);
      offset += n;
    }
  }
  const put = new URL(at);
  put.searchParams.set('digest', desc.digest);
  const rest = desc.size > plan.chunkSize ? 0 : desc.size;
  if (rest === 0) await blob.finish();
  const ctx = { what: what(put), digest: desc.digest, method: 'PUT', scopes: plan.scopes };
  const res = await client.send('PUT', put, headers, ctx, { length: rest, chunks: counted(blob.take(rest), sent) });
  await created(client, res, desc, ctx);
}

/** DELETE of an upload that failed (best effort: the registry would expire it anyway). */
async function cancel(client: RegistryClient, location: URL, desc: Descriptor, scopes: readonly string[]): Promise<void> {
  try {
    const res = await client.send('DELETE', location, {}, { what: `upload of blob ${desc.digest}`, digest: desc.digest, scopes });
    res.close();
  } catch {
    // The upload is abandoned either way.
  }
}

/**
 * Pushes one blob into the client's repository unless it is there: HEAD, then a mount or an
 * upload of the bytes `open` reads from the source (checked against the digest and size as they
 * are read; a mismatch fails the blob, never sends it whole, and cancels the upload).
 */
export async function pushBlob(client: RegistryClient, desc: Descriptor, open: () => AsyncIterable<Uint8Array>, plan: UploadPlan, sent: { bytes: number }): Promise<BlobOutcome> {
  if (await present(client, 'blobs', desc, plan.scopes)) return 'present';
  const location = await startUpload(client, desc, plan);
  if (!location) return 'mounted';
  const blob = new SourceBlob(client.ref.given, desc, open());
  try {
    await sendBytes(client, desc, location, blob, plan, sent);
  } catch (e) {
    // A registry that stopped answering would not answer the DELETE either.
    if (!(e instanceof RegistryError && e.code === 'ERR_TIMEOUT')) await cancel(client, location, desc, plan.scopes);
    throw e;
  } finally {
    await blob.close();
  }
  return 'pushed';
}

/** Whether the repository has the manifest (HEAD by digest). */
export const manifestPresent = (client: RegistryClient, desc: Descriptor, scopes: readonly string[]) => present(client, 'manifests', desc, scopes);

/** PUT `/v2/<name>/manifests/<tag or digest>` with the manifest's exact bytes and its media type; the answer's Docker-Content-Digest must be its digest. */
export async function putManifest(client: RegistryClient, reference: string, desc: Descriptor & { mediaType: string }, bytes: Buffer, scopes: readonly string[], sent: { bytes: number }): Promise<void> {
  const url = new URL(`/v2/${client.ref.repository}/manifests/${reference}`, client.base);
  const ctx = { what: `manifest ${desc.digest} (${shown(url)})`, digest: desc.digest, method: 'PUT', scopes };
  // Iterable again for a send after a challenge (client.send), each time counted as sent.
  const whole = {
    async *[Symbol.asyncIterator]() {
      sent.bytes += bytes.length;
      yield bytes;
    },
  };
  const res = await client.send('PUT', url, { 'content-type': desc.mediaType }, ctx, { length: bytes.length, chunks: whole, replayable: true });
  await created(client, res, desc, ctx);
}

import type { Descriptor } from '../image/descriptor.js';
import type { OpenResponse, RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

/** How many times one blob is asked for again after its body was cut (containerd's fetcher retries a cut body too; skopeo's resuming reader allows 5). */
export const MAX_BLOB_RESUMES = 5;

/**
 * One blob's transfer across the requests it takes: the resumes spent, the validator the first
 * response gave (for If-Range), and, when a resume was answered 200 (the whole blob again), that
 * open response, which the next ingest starts from (`restart`).
 */
export interface BlobTransfer {
  resumes: number;
  etag?: string;
  restart?: OpenResponse;
  /** Bytes of this blob received from the registry over every request, for the summary. */
  received: number;
}

export const newTransfer = (): BlobTransfer => ({ resumes: 0, received: 0 });

const RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/**
 * GETs `/v2/<repo>/blobs/<digest>` (following the redirect to blob storage that registries
 * give) as a stream of exactly `desc.size` bytes: a Content-Length other than the size fails
 * before any byte, a chunk that would pass the size fails before it is handed on. The digest is
 * not checked here: the consumer (the content store's ingest) hashes the bytes as it writes
 * them, so each byte is hashed once.
 *
 * A body that ends before the size, or whose connection fails mid-body, is asked for again
 * from the first missing byte N (`Range: bytes=N-`, RFC 9110 §14.2; `If-Range` with the first
 * response's strong ETag, §13.1.5), and the stream goes on from there: the consumer's hash runs
 * over every byte once, nothing is fetched twice or skipped. Only a 206 whose Content-Range
 * starts at exactly N and ends within the blob is taken (§14.4; anything else is ERR_RANGE, as
 * is a 206 body that runs past the end its Content-Range names). A
 * 200 is the whole blob again (the server ignores Range, or the ETag changed): the stream
 * fails, with `transfer.restart` holding that response, so that the caller ingests afresh from
 * byte 0 (pull.ts). At most MAX_BLOB_RESUMES resumes per blob. A stall (ERR_TIMEOUT) is not
 * resumed: the idle timeout is the bound the caller chose.
 */
export async function* fetchBlob(client: RegistryClient, desc: Descriptor, transfer: BlobTransfer = newTransfer(), onBytes?: (total: number) => void): AsyncGenerator<Uint8Array> {
  const ctx = { what: `blob ${desc.digest}`, digest: desc.digest };
  const path = `/v2/${client.ref.repository}/blobs/${desc.digest}`;
  let res = transfer.restart;
  transfer.restart = undefined;
  if (!res) {
    res = await client.get(path, {}, ctx);
    if (res.status !== 200) throw await client.statusError(res, ctx);
    transfer.etag = strongEtag(res.headers.get('etag'));
  }
  checkLength(client, res, desc.size, desc.size, desc.digest);
  let total = 0;
  // Where this response's bytes must stop: the blob's end, or a 206's Content-Range end + 1.
  let limit = desc.size;
  let answered: string | undefined;
  for (;;) {
    let cut: RegistryError | undefined;
    try {
      for await (const chunk of res.chunks()) {
        if (total + chunk.length > limit) {
          if (answered === undefined) throw client.error('ERR_SIZE', `the registry sent more than the descriptor's ${desc.size} bytes`, desc.digest);
          // RFC 9110 §14.4: a 206 carries exactly the range its Content-Range names.
          throw client.error('ERR_RANGE', `the registry's 206 body runs past its Content-Range ${answered}`, desc.digest);
        }
        total += chunk.length;
        transfer.received += chunk.length;
        onBytes?.(total);
        yield chunk;
      }
    } catch (e) {
      // A connection that failed mid-body (ECONNRESET, a terminated socket) is resumed; a size
      // error, a stall and the consumer's own failure are not.
      if (!(e instanceof RegistryError && e.code === 'ERR_HTTP')) throw e;
      cut = e;
    } finally {
      res.close();
    }
    if (total === desc.size) return;
    if (transfer.resumes >= MAX_BLOB_RESUMES) {
      throw cut ?? client.error('ERR_SIZE', `the body ended after ${total} of the descriptor's ${desc.size} bytes (${transfer.resumes} resumes spent)`, desc.digest);
    }
    transfer.resumes++;
    const headers: Record<string, string> = { range: `bytes=${total}-` };
    if (transfer.etag !== undefined) headers['if-range'] = transfer.etag;
    res = await client.get(path, headers, ctx);
    if (res.status === 200) {
      // The whole blob again: the bytes already handed on cannot be taken back from the
      // consumer's hash, so this ingest fails and the next starts from this response.
      transfer.etag = strongEtag(res.headers.get('etag'));
      transfer.restart = res;
      throw client.error('ERR_RANGE', `the registry answered the resume at byte ${total} with the whole blob (HTTP 200): fetched again from byte 0`, desc.digest);
    }
    if (res.status !== 206) throw await client.statusError(res, ctx);
    const range = res.headers.get('content-range') ?? '';
    const m = RANGE.exec(range.trim());
    const start = m ? Number(m[1]) : NaN;
    const end = m ? Number(m[2]) : NaN;
    if (!m || start !== total || end < start || end >= desc.size || (m[3] !== '*' && Number(m[3]) !== desc.size)) {
      res.close();
      throw client.error('ERR_RANGE', `asked for bytes ${total}- of ${desc.size}, the registry answered 206 with Content-Range ${JSON.stringify(range.slice(0, 100))}`, desc.digest);
    }
    checkLength(client, res, end - start + 1, desc.size, desc.digest);
    limit = end + 1;
    answered = range.trim().slice(0, 100);
  }
}

/** A Content-Length other than the bytes the response must carry fails before any byte is read. */
function checkLength(client: RegistryClient, res: OpenResponse, expected: number, size: number, digest: string): void {
  const length = res.headers.get('content-length');
  if (length !== null && Number(length) !== expected) {
    res.close();
    throw client.error('ERR_SIZE', `the registry sends ${length} bytes (Content-Length) where ${expected} of the blob's ${size} are expected`, digest);
  }
}

/** If-Range takes only a strong validator (RFC 9110 §13.1.5): a weak `W/"…"` ETag is not sent. */
function strongEtag(etag: string | null): string | undefined {
  return etag !== null && etag.startsWith('"') ? etag : undefined;
}

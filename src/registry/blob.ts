import type { Descriptor } from '../image/descriptor.js';
import type { RegistryClient } from './client.js';

/**
 * GETs `/v2/<repo>/blobs/<digest>` (following the redirect to blob storage that registries
 * give) as a stream of exactly `desc.size` bytes: a Content-Length other than the size fails
 * before any byte, a chunk that would pass the size fails before it is handed on, and an end
 * before the size fails at the end. The digest is not checked here: the consumer (the content
 * store's ingest) hashes the bytes as it writes them, so each byte is hashed once.
 */
export async function* fetchBlob(client: RegistryClient, desc: Descriptor): AsyncGenerator<Uint8Array> {
  const ctx = { what: `blob ${desc.digest}`, digest: desc.digest };
  const res = await client.get(`/v2/${client.ref.repository}/blobs/${desc.digest}`, {}, ctx);
  if (res.status !== 200) throw await client.statusError(res, ctx);
  const length = res.headers.get('content-length');
  if (length !== null && Number(length) !== desc.size) {
    res.close();
    throw client.error('ERR_SIZE', `the registry sends ${length} bytes (Content-Length), the descriptor says ${desc.size}`, desc.digest);
  }
  let total = 0;
  try {
    for await (const chunk of res.chunks()) {
      total += chunk.length;
      if (total > desc.size) throw client.error('ERR_SIZE', `the registry sent more than the descriptor's ${desc.size} bytes`, desc.digest);
      yield chunk;
    }
  } finally {
    res.close();
  }
  if (total < desc.size) throw client.error('ERR_SIZE', `the body ended after ${total} of the descriptor's ${desc.size} bytes`, desc.digest);
}

/**
 * The floor for opening gzip or zstd layers, as a whole process: each blob read, its bytes
 * hashed (sha256, the digest), decompressed and the output hashed (the diff_id), nothing else
 * (no tar parse, nothing kept). gzip through zlib's async gunzip, which inflates on libuv's
 * thread pool while this thread hashes: two threads at work. zstd through zstd-napi's
 * decoder on this thread. Blobs go as many at a time as the machine has cores, as openImage
 * opens layers; prints each blob's digest and diff_id (hex). Usage: node inflate-hash-floor.mjs gzip|zstd BLOB...
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

const [kind, ...blobs] = process.argv.slice(2);

function hashing(hash) {
  return new Transform({ transform(chunk, _enc, cb) { hash.update(chunk); cb(null, chunk); } });
}

function zstdDecoder() {
  const { DCtx } = createRequire(import.meta.url)('zstd-napi/binding');
  const dctx = new DCtx();
  return new Transform({
    transform(chunk, _enc, cb) {
      let src = chunk;
      for (;;) {
        const out = Buffer.allocUnsafe(1 << 20);
        const [, written, taken] = dctx.decompressStream(out, src);
        src = src.subarray(taken);
        if (written > 0) this.push(out.subarray(0, written));
        if (src.length === 0 && written < out.length) break;
      }
      cb();
    },
  });
}

async function one(path) {
  const digest = createHash('sha256');
  const diffId = createHash('sha256');
  const sink = new Transform({ transform(chunk, _enc, cb) { diffId.update(chunk); cb(); } });
  const decoder = kind === 'zstd' ? zstdDecoder() : createGunzip({ chunkSize: 1 << 20 });
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hashing(digest), decoder, sink, async function* (s) { for await (const _ of s); });
  return [digest.digest('hex'), diffId.digest('hex')];
}

let next = 0;
const results = [];
const lane = async () => { while (next < blobs.length) { const i = next++; results[i] = (await one(blobs[i])).join(" "); } };
await Promise.all(Array.from({ length: Math.min(availableParallelism(), blobs.length) }, lane));
console.log(results.join("\n"));

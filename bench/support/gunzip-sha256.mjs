#!/usr/bin/env node
// The floor of opening gzip layers, as a whole process: each blob (in turn) read once, its
// sha256 taken (the digest) while zlib inflates it on libuv's thread pool and the inflated
// bytes are hashed (the diff_id): inflate on one thread, sha256 on the other, nothing kept.
// `node bench/support/gunzip-sha256.mjs BLOB...`
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

for (const blob of process.argv.slice(2)) {
  const digest = createHash('sha256');
  const diffId = createHash('sha256');
  await pipeline(
    createReadStream(blob, { highWaterMark: 1 << 20 }),
    new Transform({ transform: (c, _e, cb) => (digest.update(c), cb(null, c)) }),
    createGunzip({ chunkSize: 1 << 20 }),
    new Writable({ write: (c, _e, cb) => (diffId.update(c), cb()) }),
  );
  digest.digest();
  diffId.digest();
}

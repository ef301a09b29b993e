import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { BlobDescriptor, PullSink } from '../../../src/registry/pull.js';

/**
 * A test-only PullSink until the content store (src/store/) lands: an OCI image layout
 * (image-layout.md) whose `ingest` hashes the body while writing it to a temporary file and
 * renames it under its digest only when digest and size match, and whose `tag` writes
 * index.json with `org.opencontainers.image.ref.name` = `refName`. It records every call, so
 * tests can see what pull fetched and in which order.
 */
export class LayoutSink implements PullSink {
  readonly calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(readonly dir: string, readonly refName: string) {
    fs.mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    fs.writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  private path(digest: string): string {
    const [alg, hex] = digest.split(':');
    return join(this.dir, 'blobs', alg!, hex!);
  }

  has(digest: string): boolean {
    this.calls.push(`has ${digest}`);
    return fs.existsSync(this.path(digest));
  }

  async ingest(expected: BlobDescriptor, body: AsyncIterable<Uint8Array>): Promise<void> {
    this.calls.push(`ingest ${expected.digest}`);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    const [alg] = expected.digest.split(':');
    const temp = join(this.dir, 'blobs', alg!, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const hash = createHash(alg!);
    const fd = fs.openSync(temp, 'wx');
    let size = 0;
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.length;
        fs.writeSync(fd, chunk);
      }
      fs.closeSync(fd);
      const digest = `${alg}:${hash.digest('hex')}`;
      if (digest !== expected.digest || size !== expected.size) throw new Error(`test sink: ${expected.digest} received ${size} bytes hashing to ${digest}`);
      fs.renameSync(temp, this.path(expected.digest));
    } catch (e) {
      try { fs.closeSync(fd); } catch { /* closed above */ }
      fs.rmSync(temp, { force: true });
      throw e;
    } finally {
      this.inFlight--;
    }
  }

  tag(ref: string, desc: BlobDescriptor): void {
    this.calls.push(`tag ${ref}`);
    const entry = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { 'org.opencontainers.image.ref.name': this.refName } };
    fs.writeFileSync(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  }
}

/**
 * Every blob of a layout: its file name and the sha256 of its bytes, sorted (so that two
 * layouts compare as byte-identical without a deep comparison of megabytes of Buffers).
 */
export function layoutBlobs(dir: string): string[] {
  const out: string[] = [];
  const top = join(dir, 'blobs');
  for (const alg of fs.readdirSync(top)) {
    for (const hex of fs.readdirSync(join(top, alg))) out.push(`${alg}:${hex} ${createHash('sha256').update(fs.readFileSync(join(top, alg, hex))).digest('hex')}`);
  }
  return out.sort();
}

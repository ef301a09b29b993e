import { Transform, type TransformCallback } from 'node:stream';

/**
 * Watches a tar stream go by and records where each entry's data starts, so that an
 * uncompressed tar on disk can be indexed once and its files read later by offset. Only block
 * arithmetic is done here (the headers' size and type fields); tar-stream does the parsing. An
 * entry's data begins after its header block; extension records (PAX `x`/`g`, GNU `L`/`K`)
 * precede the entry they describe and are not entries themselves, as in tar-stream.
 */
export class TarOffsets extends Transform {
  /** Data offset of each entry, in the order tar-stream emits them. */
  readonly dataOffsets: number[] = [];
  private pos = 0;
  /** Where the next header starts. */
  private nextHeader = 0;
  private header = Buffer.alloc(0);
  private paxSize: number | undefined;
  private collectingPax: { end: number; chunks: Buffer[] } | undefined;
  private ended = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let i = 0;
    while (i < chunk.length && !this.ended) {
      const at = this.pos + i;
      if (this.collectingPax && at < this.collectingPax.end) {
        const take = Math.min(chunk.length - i, this.collectingPax.end - at);
        this.collectingPax.chunks.push(chunk.subarray(i, i + take));
        i += take;
        if (this.pos + i >= this.collectingPax.end) this.finishPax();
        continue;
      }
      if (at < this.nextHeader) {
        i += Math.min(chunk.length - i, this.nextHeader - at);
        continue;
      }
      const take = Math.min(chunk.length - i, 512 - this.header.length);
      this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)]);
      i += take;
      if (this.header.length === 512) this.onHeader(this.pos + i - 512);
    }
    this.pos += chunk.length;
    cb(null, chunk);
  }

  private onHeader(offset: number): void {
    const h = this.header;
    this.header = Buffer.alloc(0);
    if (h.every((b) => b === 0)) {
      this.nextHeader = offset + 512; // end-of-archive blocks
      return;
    }
    const type = String.fromCharCode(h[156]!);
    const size = readSize(h.subarray(124, 136));
    const dataStart = offset + 512;
    const dataEnd = dataStart + Math.ceil(size / 512) * 512;
    this.nextHeader = dataEnd;
    if (type === 'x') {
      this.collectingPax = { end: dataStart + size, chunks: [] };
      if (size === 0) this.finishPax();
      return;
    }
    if (type === 'g' || type === 'L' || type === 'K') return;
    this.dataOffsets.push(dataStart);
    if (this.paxSize !== undefined) this.nextHeader = dataStart + Math.ceil(this.paxSize / 512) * 512;
    this.paxSize = undefined;
  }

  private finishPax(): void {
    const text = Buffer.concat(this.collectingPax!.chunks).toString('utf8');
    this.collectingPax = undefined;
    const m = /(?:^|\n)\d+ size=(\d+)\n/.exec(text);
    this.paxSize = m ? Number(m[1]) : undefined;
  }
}

/** A tar numeric field: octal text, or base-256 when the high bit of the first byte is set. */
function readSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

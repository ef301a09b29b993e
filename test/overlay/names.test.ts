import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asText, byteLength, bytesOf, fromBytes, hasRawBytes, wellFormed } from '../../src/util/names.js';

/**
 * Names are bytes; layerfs's string form of them (src/util/names.ts) must give the bytes
 * back, never give two names one form, and be the form Python's os module uses (PEP 383
 * "surrogateescape"), an independent implementation of the same mapping.
 */
const nameBytes = fc.uint8Array({ minLength: 0, maxLength: 24 }).map((b) => Buffer.from(b.filter((x) => x !== 0 && x !== 0x2f)));
// Bytes near UTF-8's edges: lead bytes, continuation bytes, surrogate and overlong forms.
const edgy = fc.array(fc.constantFrom(0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xa0, 0xed, 0x9f, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff), { maxLength: 12 }).map((b) => Buffer.from(b));

describe('names as bytes', () => {
  it('round-trips any bytes exactly', () => {
    fc.assert(fc.property(fc.oneof(nameBytes, edgy), (b) => {
      expect(bytesOf(fromBytes(b)).equals(b)).toBe(true);
      expect(byteLength(fromBytes(b))).toBe(b.length);
    }), { numRuns: 2000 });
  });

  it('is the same string form as Python surrogateescape', () => {
    const samples = fc.sample(fc.oneof(nameBytes, edgy), 400);
    const python = JSON.parse(execFileSync('python3', ['-c', 'import json,sys; print(json.dumps([bytes.fromhex(h).decode("utf-8", "surrogateescape") for h in json.load(sys.stdin)]))'], { input: JSON.stringify(samples.map((b) => b.toString('hex'))), encoding: 'utf8' })) as string[];
    expect(samples.map((b) => fromBytes(b))).toEqual(python);
  });

  it('valid UTF-8 is its usual text; text from a caller never spells raw bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.oneof(nameBytes, edgy), (s, raw) => {
      expect(fromBytes(Buffer.from(s))).toBe(s);
      expect(hasRawBytes(s)).toBe(false);
      expect(bytesOf(s).equals(Buffer.from(s))).toBe(true);
      // Text next to raw bytes (an astral character, then a stray byte) still comes apart right.
      const mixed = Buffer.concat([Buffer.from(s), raw, Buffer.from(s)]);
      expect(bytesOf(fromBytes(mixed)).equals(mixed)).toBe(true);
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      const w = wellFormed(s);
      expect(hasRawBytes(w)).toBe(false);
      expect(Buffer.from(w).equals(Buffer.from(s))).toBe(true); // what Node would pass the kernel
    }));
  });

  it('shows raw bytes as Node decodes them (U+FFFD)', () => {
    expect(asText(fromBytes(Buffer.from([0x61, 0xff])))).toBe('a\ufffd');
    expect(asText('plain')).toBe('plain');
  });
});

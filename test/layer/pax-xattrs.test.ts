import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paxRecord, paxXattrs } from '../../src/tar/pax-xattrs.js';

describe('PAX records with byte values', () => {
  it('a record says its own length in bytes, across digit boundaries, and reads back exactly', () => {
    fc.assert(fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !k.includes('=')), fc.uint8Array({ maxLength: 1200 })), (xattrs) => {
      const body = Buffer.concat(Object.entries(xattrs).map(([k, v]) => paxRecord(`SCHILY.xattr.${k}`, Buffer.from(v))));
      let at = 0;
      while (at < body.length) {
        const space = body.indexOf(0x20, at);
        const length = Number(body.toString('latin1', at, space));
        expect(body[at + length - 1]).toBe(0x0a);
        at += length;
      }
      expect(at).toBe(body.length);
      expect(paxXattrs(body)).toEqual(new Map(Object.entries(xattrs).map(([k, v]) => [k, Buffer.from(v)])));
    }), { numRuns: 500 });
  });

  it('lengths agree with what GNU tar writes', () => {
    // GNU tar's own PAX header for an entry with a 95-byte value (record lengths near 100).
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    execFileSync('sh', ['-c', `cd ${dir} && touch f && setfattr -n user.x -v "${'a'.repeat(86)}" f && tar --format=pax --xattrs --xattrs-include=user.* -cf t.tar f`]);
    const tar = execFileSync('cat', [`${dir}/t.tar`]);
    const size = parseInt(tar.toString('latin1', 124, 136), 8);
    const body = tar.subarray(512, 512 + size);
    expect(paxXattrs(body).get('user.x')?.toString()).toBe('a'.repeat(86));
    expect(body.includes(paxRecord('SCHILY.xattr.user.x', Buffer.from('a'.repeat(86))))).toBe(true);
    execFileSync('rm', ['-rf', dir]);
  });
});

import { describe, it, expect } from 'vitest';
import { Overlay, MemoryLayer } from '../src/index.js';

describe('smoke', () => {
  it('merges and copies up', () => {
    const base = MemoryLayer.fromJSON({ '/etc/passwd': 'root', '/etc/hosts': 'h', '/bin/sh': 'sh' });
    const top = MemoryLayer.fromJSON({ '/etc/.wh.hosts': '', '/etc/motd': 'hi' });
    const ov = new Overlay({ lower: [base, top] });
    expect(ov.readdirSync('/etc')).toEqual(['motd', 'passwd']);
    ov.appendFileSync('/etc/passwd', '\nuser');
    expect(ov.readFileSync('/etc/passwd', 'utf8')).toBe('root\nuser');
    ov.unlinkSync('/bin/sh');
    expect(ov.upper.toJSON()).toMatchObject({ '/bin/.wh.sh': '', '/etc/passwd': 'root\nuser' });
    expect(() => ov.statSync('/nope')).toThrow(/ENOENT: no such file or directory, stat '\/nope'/);
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

/**
 * PATH_MAX limits a path a call is given (getname), not the working directory: a process
 * reaches a directory deeper than 4096 bytes by successive chdirs, and a relative path from
 * there works (checked on Linux: python3, 45 chdirs into 100-byte names, os.stat('f') works,
 * os.stat of the absolute path fails ENAMETOOLONG). So does the overlay's `cwd`.
 */
describe('a cwd deeper than PATH_MAX', () => {
  const cwd = ('/' + 'd'.repeat(100)).repeat(45);
  const ov = () => new Overlay({ lower: [MemoryLayer.fromJSON({ [`${cwd}/f`]: 'x' })], cwd });

  it('a relative path from it works', () => {
    expect(ov().statSync('f').size).toBe(1);
    expect(ov().readFileSync('f', 'utf8')).toBe('x');
  });

  it('its absolute path is ENAMETOOLONG, as a call given it is', () => {
    expect(() => ov().statSync(`${cwd}/f`)).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
  });
});

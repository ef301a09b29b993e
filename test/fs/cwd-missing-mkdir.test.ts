import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as syscalls from '../../src/overlay/syscalls.js';
import { MemoryLayer, Overlay } from '../../src/index.js';

/**
 * `mkdir -p` of a relative path while the working directory is not there (the `cwd` option
 * allows it): mkdir of the first name fails ENOENT and it has no dirname to make first. Node
 * 20's MKDirpSync/MKDirpAsync then pick the same path again, forever (a process whose cwd was
 * removed hangs in `fs.mkdirSync('a/b', { recursive: true })`); the kernel's mkdir says
 * ENOENT, and so must the overlay, never a hang. The loop is synchronous, so a test timeout
 * cannot end it: mkdir(2) is counted, and a call past any sane count fails the test.
 */
const counted = vi.hoisted(() => ({ calls: 0 }));
vi.mock('../../src/overlay/syscalls.js', async (original) => {
  const real = await original<typeof syscalls>();
  return {
    ...real,
    mkdirAt: (...args: Parameters<typeof real.mkdirAt>) => {
      if (++counted.calls > 10_000) throw new Error('mkdir -p does not end: over 10000 mkdir calls');
      return real.mkdirAt(...args);
    },
  };
});

describe('mkdir -p of a relative path while the cwd is not there: ENOENT, no hang', () => {
  beforeEach(() => {
    counted.calls = 0;
  });
  const ov = () => new Overlay({ lower: [MemoryLayer.fromJSON({ '/x/f': 'x' })], cwd: '/work' });

  it('mkdirSync', () => {
    expect(() => ov().mkdirSync('a/b', { recursive: true })).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'mkdir', path: 'a/b' }));
  });

  it('promises.mkdir', async () => {
    await expect(ov().promises.mkdir('a/b', { recursive: true })).rejects.toMatchObject({ code: 'ENOENT', syscall: 'mkdir' });
  });

  it('the callback mkdir', async () => {
    const err = await new Promise((resolve) => ov().fs.mkdir('a/b', { recursive: true }, resolve));
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'mkdir', path: 'a/b' });
  });

  it('a single name (nothing to make first) was ENOENT already', () => {
    expect(() => ov().mkdirSync('a', { recursive: true })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

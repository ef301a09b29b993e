import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

/**
 * An empty path names nothing (path_resolution(7): "an empty pathname ... ENOENT"; Node's
 * lstat('') fails so): the explain APIs fail as lstat and scandir do, rather than describe
 * the working directory as not visible.
 */
describe("the explain APIs of an empty path: ENOENT, as lstat('')", () => {
  for (const cwd of ['/', '/a']) {
    it(`cwd ${cwd}: whereIs('') and stackView('') throw ENOENT`, () => {
      const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/a/b': 'x' })], cwd });
      expect(() => ov.lstatSync('')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(() => ov.whereIs('')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'lstat', path: '' }));
      expect(() => ov.stackView('')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    });
  }
});

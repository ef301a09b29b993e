import { describe, expect, it } from 'vitest';
import { MemoryLayer, TarLayer } from '../../src/index.js';
import { addDispose } from '../../src/util/disposable.js';
import { Image } from '../../src/image/image.js';
import { packTar } from '../support/to-tar.js';

describe('Symbol.dispose', () => {
  it('layers and images have it, and it closes them', async () => {
    const layer = await TarLayer.from(await packTar([{ header: { name: 'f' }, body: 'f\n' }]));
    layer[Symbol.dispose]();
    expect(() => layer.read(layer.entries.get('/f')!)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CLOSED' }));
    const memory = MemoryLayer.fromJSON({ '/m': 'm' });
    expect(typeof memory[Symbol.dispose]).toBe('function');
    expect(typeof Image.prototype[Symbol.dispose]).toBe('function');
  });

  it('where the runtime has no Symbol.dispose (Node before 20.4), nothing is added: no method named "undefined"', () => {
    class Closable {
      close(): void {}
    }
    addDispose(Closable.prototype, {});
    expect(Object.getOwnPropertyNames(Closable.prototype)).toEqual(['constructor', 'close']);
    expect(Object.getOwnPropertySymbols(Closable.prototype)).toEqual([]);
  });
});

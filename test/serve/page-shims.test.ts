import * as fs from 'node:fs';
import * as os from 'node:os';
import * as util from 'node:util';
import { describe, expect, it } from 'vitest';
import { errnos, fsConstants } from '../../src/serve/page/shims/linux.js';
import { fromPageImage, toPageImage } from '../../src/serve/page-image.js';
import { MemoryLayer, Overlay, openImage } from '../../src/index.js';
import { essentials, snapshot, type FsLike } from '../support/tree.js';
import { DEMO_IMAGE } from '../../src/demo/walkthrough.js';

describe('what the teaching page bundle carries', () => {
  it("Linux constants and errno descriptions equal Node's own on this machine", () => {
    for (const [k, v] of Object.entries(fsConstants)) expect([k, v]).toEqual([k, (fs.constants as Record<string, number>)[k]]);
    const map = util.getSystemErrorMap();
    for (const [code, [n, text]] of Object.entries(errnos)) {
      expect([code, n]).toEqual([code, (os.constants.errno as Record<string, number>)[code]]);
      // (Node names 95 ENOTSUP, its other Linux name; only the description is used.)
      expect(map.get(-n)?.[1]).toBe(text);
    }
  });

  it('an image sent to the page rebuilds to the same layers: the demo image and a stack with every marker', async () => {
    const view = (ov: Overlay) => essentials(snapshot(ov as unknown as FsLike, ''));
    const image = await openImage(DEMO_IMAGE);
    const layers = image.layers.map((l) => l.layer);
    const sent = JSON.parse(JSON.stringify(toPageImage('demo', layers)));
    expect(view(new Overlay({ lower: fromPageImage(sent) }))).toEqual(view(new Overlay({ lower: layers })));
    const marked = [
      MemoryLayer.fromJSON({ '/d/a': 'a', '/d/b': 'b', '/h': 'h', '/h2': { type: 'hardlink', target: '/h' }, '/s': { type: 'symlink', linkTarget: 'h' }, '/x': { type: 'file', content: Buffer.from([0, 255, 1]), xattrs: { 'user.k': 'v' } } }),
      MemoryLayer.fromJSON({ '/d/.wh..wh..opq': '', '/d/c': 'c', '/.wh.s': '' }),
    ];
    const again = fromPageImage(JSON.parse(JSON.stringify(toPageImage('m', marked))));
    expect(again.map((l) => [[...l.whiteouts], [...l.opaqueDirs]])).toEqual(marked.map((l) => [[...l.whiteouts], [...l.opaqueDirs]]));
    expect(view(new Overlay({ lower: again }))).toEqual(view(new Overlay({ lower: marked })));
    expect(new Overlay({ lower: again }).statSync('/h').nlink).toBe(2);
    expect(again[0]!.entries.get('/x')!.xattrs).toEqual(new Map([['user.k', Buffer.from('v')]]));
    expect(again[0]!.read(again[0]!.entries.get('/x')!)).toEqual(Buffer.from([0, 255, 1]));
  });
});

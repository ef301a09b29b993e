import { expect, it } from 'vitest';
import { DEMO_IMAGE, walkthrough } from '../src/demo/walkthrough.js';

/** `npm run demo` narrates the bundled image; its story must stay true. */
it('the demo walks through copy-up, whiteout, opaque and rename on the bundled image', async () => {
  let text = '';
  await walkthrough(DEMO_IMAGE, (t) => void (text += t));
  expect(text).toContain('4 read-only layers (bottom first), verified against their digests');
  expect(text).toContain('event copy-up   /etc/passwd (file, from layer 1)');
  expect(text).toContain('event whiteout  /var/cache/demo/b');
  expect(text).toContain('/usr/share/doc/demo/.wh..wh..opq');
  expect(text).toContain("EXDEV: cross-device link not permitted, rename '/var/cache' -> '/var/cache2'");
  expect(text).toMatch(/merged view at the end:[\s\S]*motd\.old/);
});

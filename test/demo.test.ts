import { expect, it, vi } from 'vitest';

/** `npm run demo` narrates the bundled image; its story must stay true. */
it('the demo walks through copy-up, whiteout, opaque and rename on the bundled image', async () => {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  try {
    await import('../src/demo/walkthrough.js');
  } finally {
    spy.mockRestore();
  }
  expect(text).toContain('4 read-only layers (bottom first), verified against their digests');
  expect(text).toContain('event copy-up   /etc/passwd (file, from layer 1)');
  expect(text).toContain('event whiteout  /var/cache/demo/b');
  expect(text).toContain('/usr/share/doc/demo/.wh..wh..opq');
  expect(text).toContain("EXDEV: cross-device link not permitted, rename '/var/cache' -> '/var/cache2'");
  expect(text).toMatch(/merged view at the end:[\s\S]*motd\.old/);
});

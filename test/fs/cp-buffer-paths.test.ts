import * as nodeFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FILES, runOn, type Side } from './same-as-node.js';

/**
 * cp with a Buffer path, against node:fs on a real directory: Node 20's cp keeps a Buffer
 * as given and hands it to path.resolve / path.dirname inside the walk, which refuse it
 * (ERR_INVALID_ARG_TYPE naming "paths[0]" or "path"), after src has been stat'ed (a missing
 * src is ENOENT). cpSync throws that; fs.cp passes it to its callback; promises.cp rejects.
 * Nothing is copied.
 */
type Form = 'cpSync' | 'cp' | 'promises.cp';
const FORMS: Form[] = ['cpSync', 'cp', 'promises.cp'];

/** [what, src, dest, options]: '@x' is a path in the directory, 'B@x' that path as a Buffer. */
const CASES: [string, string, string, object?][] = [
  ['a Buffer src file', 'B@f.txt', '@copy'],
  ['a Buffer dest, src a file', '@f.txt', 'B@copy'],
  ['a Buffer src directory', 'B@dir', '@copy', { recursive: true }],
  ['a Buffer dest, src a directory', '@dir', 'B@copy', { recursive: true }],
  ['a missing Buffer src', 'B@none', '@copy'],
  ['a Buffer src the filter skips', 'B@f.txt', '@copy', { filter: () => false }],
];

async function run(side: Side, form: Form, [, src, dest, options]: (typeof CASES)[number]): Promise<void> {
  side.fs.mkdirSync(side.at('dir'));
  side.fs.writeFileSync(side.at('dir/in'), 'x');
  const p = (s: string) => (s.startsWith('B@') ? Buffer.from(side.at(s.slice(2))) : side.at(s.slice(1)));
  const api = side.fs === nodeFs ? nodeFs : side.fs.fs;
  const args = [p(src), p(dest), ...(options ? [options] : [])];
  try {
    if (form === 'cpSync') {
      api.cpSync(...args);
      side.log('returned');
    } else if (form === 'promises.cp') {
      await api.promises.cp(...args).then(() => side.log('resolved'), (e: unknown) => side.log('rejected', e));
    } else {
      await new Promise<void>((resolve) => api.cp(...args, (e: unknown) => (side.log('called back', e ?? null), resolve())));
    }
  } catch (e) {
    side.log('threw', e);
  }
  side.log('copy made', side.fs.existsSync(side.at('copy')));
  side.fs.rmSync(side.at('dir'), { recursive: true });
  side.fs.rmSync(side.at('copy'), { recursive: true, force: true });
}

describe('cp, cpSync and promises.cp refuse a Buffer path where Node does', () => {
  for (const form of FORMS) {
    for (const c of CASES) {
      it(`${form}: ${c[0]}`, async () => {
        const node = await runOn('node', FILES, (side) => run(side, form, c));
        const layerfs = await runOn('layerfs', FILES, (side) => run(side, form, c));
        expect(layerfs).toEqual(node);
      });
    }
  }
});

import { DEMO_IMAGE, walkthrough } from '../../demo/walkthrough.js';
import { emitJson, type Verb } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const demoVerb: Verb = {
  takes: 'positionals',
  usage: 'demo [IMAGE]',
  summary: 'a narrated walk through copy-up, whiteouts, opaque dirs and rename (the bundled image by default)',
  options: { ...REF_FLAGS },
  maxPositionals: 1,
  notes: ['--json: {image, layers, steps, merged} instead of the narration: each step is {title, events: [{event, path}], upper} (the upper layer after it), merged is {entries, bytes} of the merged view at the end.'],
  run: async ({ io, json, positionals, open }) => {
    const report = await walkthrough(await open(positionals[0] ?? DEMO_IMAGE), json ? () => {} : io.stdout);
    if (json) emitJson({ io }, report);
  },
};

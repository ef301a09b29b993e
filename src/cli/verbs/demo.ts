import { DEMO_IMAGE, walkthrough } from '../../demo/walkthrough.js';
import type { Verb } from '../verb.js';

export const demoVerb: Verb = {
  takes: 'positionals',
  usage: 'demo [IMAGE]',
  summary: 'a narrated walk through copy-up, whiteouts, opaque dirs and rename (the bundled image by default)',
  run: async ({ io, positionals }) => {
    await walkthrough(positionals[0] ?? DEMO_IMAGE, io.stdout);
  },
};

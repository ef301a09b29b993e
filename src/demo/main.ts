/** `npm run demo [IMAGE]`: the narrated walkthrough on the bundled image (or the one given). */
import { DEMO_IMAGE, walkthrough } from './walkthrough.js';

await walkthrough(process.argv[2] ?? DEMO_IMAGE, (text) => void process.stdout.write(text));

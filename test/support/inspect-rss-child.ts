/**
 * Opens argv[2] as `inspect` does (openImageManifest: manifest, config, layers described, none
 * indexed) and prints its layers and the process's peak RSS. Bundled by esbuild
 * (test/image/docker-layer-digest.test.ts), run in a child of its own.
 */
import { openImageManifest } from '../../src/image/image-manifest.js';

const image = await openImageManifest(process.argv[2]!);
console.log(JSON.stringify({ peakRss: process.resourceUsage().maxRSS * 1024, layers: image.layers }));

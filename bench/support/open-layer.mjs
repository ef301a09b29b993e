// A whole process that opens layer files with the built library, as a program using layerfs
// would: `node bench/support/open-layer.mjs <path of dist/index.js> <layer file>...` (each
// opened with TarLayer.from, which indexes it and verifies its digest, then closed). With no
// layer file, it only loads the library: its share of the whole process.
import { pathToFileURL } from 'node:url';

const [lib, ...files] = process.argv.slice(2);
const { TarLayer } = await import(pathToFileURL(lib).href);
for (const file of files) (await TarLayer.from(file)).close();

// Node globals that memfs and the engine use, from their browser ports (esbuild `inject`).
export { Buffer } from 'buffer/';
import processPort from 'process/browser.js';
export const process = processPort;

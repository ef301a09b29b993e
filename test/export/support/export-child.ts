// Run by test/export/export-dir-faults.test.ts (bundled with esbuild) as a process it kills:
//   node export-child.mjs TARGET BIG_FILE_BYTES KILL_AFTER_ENTRY OVERWRITE
// exports faultImage(BIG_FILE_BYTES) into TARGET and, when KILL_AFTER_ENTRY > 0, sends itself
// SIGKILL right after that many entries (else it waits for the test to kill it mid-write).
import { MemoryLayer, Overlay } from '../../../src/index.js';
import { faultImage } from './fault-image.js';

const [target, big, killAfter, overwrite] = process.argv.slice(2);
const ov = new Overlay({ lower: [MemoryLayer.fromJSON(faultImage(Number(big)), 'L0')] });
process.stdout.write('exporting\n');
ov.exportDir(target!, {
  overwrite: overwrite === '1',
  onProgress: ({ entries }) => {
    if (entries === Number(killAfter)) process.kill(process.pid, 'SIGKILL');
  },
});
process.stdout.write('done\n');

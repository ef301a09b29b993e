#!/usr/bin/env node
// `npm run test:differential -- --runs N`: the differential harness with N random sequences
// per option set (default options and redirect_dir=on), and N/20 deep (100-130 layer) ones.
import { spawnSync } from 'node:child_process';

const at = process.argv.indexOf('--runs');
const runs = at >= 0 ? process.argv[at + 1] : '1000';
if (!/^\d+$/.test(runs ?? '')) {
  console.error('usage: npm run test:differential -- --runs N');
  process.exit(2);
}
const r = spawnSync('npx', ['vitest', 'run', 'test/differential'], {
  stdio: 'inherit',
  env: { ...process.env, LAYERFS_DIFF_RUNS: runs },
});
process.exit(r.status ?? 1);

#!/usr/bin/env node
// Turns vitest's benchmark JSON (bench/results.json) into docs/benchmarks.md and the chart
// docs/lookup-depth.svg. Every number comes from the one run that wrote the JSON; each table
// names the command. Medians are used: the means of sub-microsecond calls carry GC outliers.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

const data = JSON.parse(readFileSync('bench/results.json', 'utf8'));
const groups = data.files.flatMap((f) => f.groups.map((g) => ({ file: f.filepath.replace(/^.*\/bench\//, 'bench/'), ...g })));

const fmt = (ms) => (ms < 0.001 ? `${(ms * 1e6).toFixed(0)} ns` : ms < 1 ? `${(ms * 1000).toFixed(2)} µs` : ms < 1000 ? `${ms.toFixed(2)} ms` : `${(ms / 1000).toFixed(2)} s`);
const lines = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}).`,
  'Peers are measured in the same run on the same data; "vs layerfs" is the peer\'s median time divided by layerfs\'s',
  '(above 1: layerfs is faster), printed only between rows measured the same way: a whole process (started and',
  'waited for) against a whole process, or a call inside a process against a call. Times are medians per run.',
  '',
];
/**
 * Every bench names what it times with a last word in brackets: `[process]` (a whole process,
 * started and waited for) or `[call]` (a call inside this process). A ratio is printed only
 * between rows of one kind: a call is not comparable with a process.
 */
const KIND = { process: 'whole process', call: 'call in a process' };
const unlabelled = [];
const kindOf = (name) => {
  const m = / \[(process|call)\]$/.exec(name);
  if (!m) unlabelled.push(name);
  return m ? { label: name.slice(0, m.index), kind: m[1] } : { label: name, kind: undefined };
};
const sections = [];
for (const g of groups) {
  const title = g.fullName.split(' > ').slice(1).join(' > ');
  const rows = g.benchmarks.map((b) => ({ ...b, ...kindOf(b.name) }));
  const mine = rows.find((b) => b.label.startsWith('layerfs'));
  const at = lines.length;
  lines.push(`## ${title}`, '', `\`npx vitest bench --run ${g.file}\``, '', '| implementation | measured as | median | calls/s | vs layerfs |', '|---|---|---:|---:|---:|');
  for (const b of rows.sort((a, b) => a.median - b.median)) {
    const ratio = !mine ? '' : b.kind === mine.kind ? (b.median / mine.median).toFixed(2) : 'not like for like';
    lines.push(`| ${b.label.replaceAll('|', '\\|')} | ${KIND[b.kind] ?? '?'} | ${fmt(b.median)} | ${Math.round(1000 / b.median).toLocaleString('en')} | ${ratio} |`);
  }
  lines.push('');
  sections.push({ file: g.file, text: lines.slice(at).join('\n') });
}
if (unlabelled.length) throw new Error(`bench names without [process] or [call]:\n${unlabelled.join('\n')}`);

// `node bench/report.mjs --update`, after `npx vitest bench --run bench/X.bench.ts --outputJson
// bench/results.json`: only the tables of the files in that JSON are replaced in
// docs/benchmarks.md, in place, and the header says which tables come from which later run;
// the rest of the page (and the chart and memory tables) stays from the run that wrote it.
if (process.argv.includes('--update')) {
  const files = [...new Set(sections.map((x) => x.file))];
  const [head, ...old] = readFileSync('docs/benchmarks.md', 'utf8').split(/^(?=## )/m);
  const fileOf = (text) => /`npx vitest bench --run (bench\/\S+)`/.exec(text)?.[1];
  let at = old.findIndex((t) => files.includes(fileOf(t)));
  const kept = old.filter((t) => !files.includes(fileOf(t)));
  if (at < 0) at = kept.findIndex((t) => !fileOf(t) || fileOf(t) > files[0]);
  else at = old.slice(0, at).filter((t) => !files.includes(fileOf(t))).length;
  if (at < 0) at = kept.length;
  const fresh = sections.map((x) => `${x.text}\n`);
  const note = `Tables of ${files.join(', ')}: from a later run of ${files.length > 1 ? 'those files' : 'that file'} alone (\`npx vitest bench --run ${files.join(' ')}\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}; \`node bench/report.mjs --update\`).`;
  const headLines = head.split('\n').filter((l, i, all) => !(l.startsWith('Tables of ') && files.some((f) => l.includes(f))) && !(l === '' && all[i + 1]?.startsWith('Tables of ') && files.some((f) => all[i + 1].includes(f))));
  headLines.splice(headLines.findIndex((l) => l.includes('Times are medians')) + 1, 0, '', note);
  writeFileSync('docs/benchmarks.md', [headLines.join('\n'), ...kept.slice(0, at), ...fresh, ...kept.slice(at)].join(''));
  console.log(`updated ${sections.length} tables of ${files.join(', ')} in docs/benchmarks.md`);
  process.exit(0);
}

// The chart: warm stat and first lookup against depth, log-log.
const series = new Map();
for (const g of groups) {
  const m = /(warm stat of a bottom-layer file|first lookup of a missing name).*? (\d+) layer/.exec(g.fullName);
  if (!m) continue;
  for (const b of g.benchmarks) {
    const key = `${kindOf(b.name).label}: ${m[1].startsWith('warm') ? 'warm stat' : 'first lookup'}`;
    if (!series.has(key)) series.set(key, []);
    series.get(key).push([Number(m[2]), b.median * 1000]);
  }
}
if (series.size > 0) {
  const W = 720, H = 420, L = 70, R = 250, T = 20, B = 50;
  const xs = [...series.values()].flat().map((p) => p[0]);
  const ys = [...series.values()].flat().map((p) => p[1]);
  const lx = (x) => L + ((Math.log10(x) - Math.log10(Math.min(...xs))) / (Math.log10(Math.max(...xs)) - Math.log10(Math.min(...xs)) || 1)) * (W - L - R);
  const y0 = Math.floor(Math.log10(Math.min(...ys))), y1 = Math.ceil(Math.log10(Math.max(...ys)));
  const ly = (y) => H - B - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * (H - T - B);
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  const svg = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  for (let e = y0; e <= y1; e++) svg.push(`<line x1="${L}" x2="${W - R}" y1="${ly(10 ** e)}" y2="${ly(10 ** e)}" stroke="#ddd"/><text x="${L - 6}" y="${ly(10 ** e) + 4}" text-anchor="end">${fmt(10 ** e / 1000)}</text>`);
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) svg.push(`<text x="${lx(x)}" y="${H - B + 18}" text-anchor="middle">${x}</text>`);
  svg.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">lower layers (log scale)</text>`);
  [...series].forEach(([name, pts], i) => {
    const c = colours[i % colours.length];
    const dash = name.endsWith('first lookup') ? ' stroke-dasharray="5,3"' : '';
    pts.sort((a, b) => a[0] - b[0]);
    svg.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${dash} points="${pts.map(([x, y]) => `${lx(x)},${ly(y)}`).join(' ')}"/>`);
    svg.push(`<line x1="${W - R + 15}" x2="${W - R + 40}" y1="${T + 10 + i * 18}" y2="${T + 10 + i * 18}" stroke="${c}" stroke-width="2"${dash}/><text x="${W - R + 45}" y="${T + 14 + i * 18}">${name}</text>`);
  });
  svg.push('</svg>');
  writeFileSync('docs/lookup-depth.svg', svg.join('\n'));
  lines.splice(6, 0, '![Lookup cost against stack depth](lookup-depth.svg)', '');
}
// Memory when opening a layer, written by bench/mount.bench.ts in the same run.
if (existsSync('bench/memory.json')) {
  const m = JSON.parse(readFileSync('bench/memory.json', 'utf8'));
  const mib = (n) => (n === undefined || n === null ? 'n/a (no dist/)' : `${(n / 2 ** 20).toFixed(1)} MiB`);
  lines.push(
    `## memory when opening the generated layer (${m.entries.toLocaleString('en')} entries, ${mib(m.uncompressedBytes)} uncompressed)`,
    '',
    '`npx vitest bench --run bench/mount.bench.ts` (heap: `process.memoryUsage()` heap + array buffers after GC, before and after the open; peak RSS: VmHWM of a fresh `node` that opens the layer with dist/, less one that only loads it)',
    '',
    '| layer | kept per entry | kept in all | peak RSS of the open |',
    '|---|---:|---:|---:|',
    `| uncompressed tar on disk (index only, content read by offset) | ${Math.round(m.onDisk.bytesPerEntry)} bytes | ${mib(m.onDisk.keptBytes)} | ${mib(m.onDisk.peakRssBytes)} |`,
    ...(m.spilled ? [`| gzip (default: content past 4 MiB in a private spill file) | ${Math.round(m.spilled.bytesPerEntry)} bytes | ${mib(m.spilled.keptBytes)} | ${mib(m.spilled.peakRssBytes)} |`] : []),
    `| gzip, \`content: 'memory'\` (content held in memory) | ${Math.round(m.inMemory.bytesPerEntry)} bytes | ${mib(m.inMemory.keptBytes)} | ${mib(m.inMemory.peakRssBytes)} |`,
    ...(m.bomb ? [`| a gzip bomb (${mib(m.bomb.gzipBytes)} -> one file of ${mib(m.bomb.uncompressedBytes)} of zeros), default | | | ${mib(m.bomb.peakRssBytes)} |`] : []),
    '',
  );
}
// Peak memory of the whole jobs, written by bench/whole-job.bench.ts in the same run.
if (existsSync('bench/whole-job-memory.json')) {
  const m = JSON.parse(readFileSync('bench/whole-job-memory.json', 'utf8'));
  lines.push(
    `## peak memory of the whole jobs on the Debian-like image (${m.image.layers} layers, ${(m.image.tarBytes / 2 ** 20).toFixed(0)} MiB of tar, ${m.image.entries.toLocaleString('en')} entries)`,
    '',
    "`npx vitest bench --run bench/whole-job.bench.ts` (peak RSS: GNU time's %M of one untimed run of the whole process)",
    '',
    '| job | peak RSS |',
    '|---|---:|',
    ...m.rows.map(([job, bytes]) => `| ${job} | ${(bytes / 2 ** 20).toFixed(1)} MiB |`),
    '',
  );
}
writeFileSync('docs/benchmarks.md', lines.join('\n'));
console.log(`wrote docs/benchmarks.md (${groups.length} tables)${series.size ? ' and docs/lookup-depth.svg' : ''}`);

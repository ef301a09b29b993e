/**
 * `npm run demo`: a narrated walk through copy-up, whiteouts, opaque directories and rename
 * on images/demo (a real 4-layer OCI image built with umoci), printing the upper layer and the
 * merged view after each step. Plain text; an image path may be given instead.
 */
import { fileURLToPath } from 'node:url';
import { openImage, type Image } from '../image/image.js';

/** What the walkthrough did, for `layerfs demo --json`: each step's events and upper layer, and the merged view at the end. */
export interface DemoReport {
  image: string;
  layers: Array<{ layer: number; digest: string; size: number; createdBy: string | null }>;
  steps: Array<{ title: string; events: Array<{ event: 'copy-up' | 'whiteout' | 'opaque'; path: string }>; upper: string[] }>;
  /** The merged view after the last step: its entries (the root not counted) and the bytes of its files. */
  merged: { entries: number; bytes: number };
}

/** The bundled image, images/demo, wherever the package is installed. */
export const DEMO_IMAGE = fileURLToPath(new URL('../../images/demo', import.meta.url));

export async function walkthrough(given: string | Image, write: (text: string) => void): Promise<DemoReport> {
  const image = typeof given === 'string' ? await openImage(given) : given;
  const imagePath = typeof given === 'string' ? given : given.source;
  const ov = image.overlay();
  const out = (s = ''): void => write(s + '\n');
  const report: DemoReport = { image: imagePath, layers: image.layers.map((l, i) => ({ layer: i, digest: l.digest, size: l.size, createdBy: image.createdBy(i) ?? null })), steps: [], merged: { entries: 0, bytes: 0 } };
  const event = (kind: 'copy-up' | 'whiteout' | 'opaque', path: string) => report.steps.at(-1)?.events.push({ event: kind, path });
  ov.on('copy-up', (e) => (event('copy-up', e.path), out(`    event copy-up   ${e.path} (${e.entryType}, from layer ${e.fromLayer})`)));
  ov.on('whiteout', (e) => (event('whiteout', e.path), out(`    event whiteout  ${e.path}`)));
  ov.on('opaque', (e) => (event('opaque', e.path), out(`    event opaque    ${e.path}`)));

  function tree(dir = '/', indent = '    ', count?: DemoReport['merged']): void {
    for (const name of ov.readdirSync(dir)) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      out(`${indent}${name}`);
      const st = ov.lstatSync(path);
      if (count) {
        count.entries++;
        if (st.isFile()) count.bytes += st.size;
      }
      if (st.isDirectory()) tree(path, indent + '  ', count);
    }
  }

  function showUpper(): void {
    const files = Object.keys(ov.upper.toJSON()).sort();
    report.steps.at(-1)!.upper = files;
    out('  upper layer (OCI changeset form):');
    if (files.length === 0) out('    (empty)');
    for (const f of files) out(`    ${f}`);
  }

  function step(title: string, action: () => void): void {
    out(`\n== ${title}`);
    report.steps.push({ title, events: [], upper: [] });
    action();
    showUpper();
  }

  out(`layerfs demo: ${imagePath}`);
  out(`  ${image.layers.length} read-only layers (bottom first), verified against their digests, and an empty upper layer:`);
  image.layers.forEach((l, i) => out(`    ${i}  ${l.digest.slice(0, 19)}  ${String(l.size).padStart(8)} bytes  ${image.createdBy(i) ?? ''}`));
  out('\n  merged view:');
  tree();
  for (const p of ['/etc/os-release', '/opt/app', '/var/cache/demo/a', '/usr/share/doc/demo']) {
    const w = ov.whereIs(p);
    out(`  whereIs(${p}): ${w.provider === undefined ? 'not visible' : `from layer ${w.provider}`}${w.shadowed.length ? `, shadows layer ${w.shadowed.join(', ')}` : ''}${w.hiddenBy.length ? `, hidden by ${w.hiddenBy.map((h) => `${h.kind} in layer ${h.layer}`).join(', ')}` : ''}`);
  }

  step('1. Append to a lower file: copy-up (parents first, then the file)', () => {
    ov.appendFileSync('/etc/passwd', 'guest:x:1001:1001::/home/guest:/bin/sh\n');
    out(`    /etc/passwd now reads:\n${String(ov.readFileSync('/etc/passwd', 'utf8')).trimEnd().replace(/^/gm, '      ')}`);
  });

  step('2. Delete a lower file: a whiteout hides it in every layer below', () => {
    ov.unlinkSync('/var/cache/demo/b');
    out(`    exists('/var/cache/demo/b') = ${ov.existsSync('/var/cache/demo/b')}`);
  });

  step('3. Delete a directory and make it again: the new one is opaque', () => {
    ov.rmSync('/usr/share/doc/demo', { recursive: true });
    ov.mkdirSync('/usr/share/doc/demo');
    ov.writeFileSync('/usr/share/doc/demo/NOTES', 'written in the upper layer\n');
    out(`    readdir('/usr/share/doc/demo') = ${JSON.stringify(ov.readdirSync('/usr/share/doc/demo'))} (README from layer 3 stays hidden)`);
  });

  step('4. Rename a lower file: copy-up, then a whiteout at the old name', () => {
    ov.renameSync('/etc/motd', '/etc/motd.old');
  });

  step('5. Rename a lower directory: EXDEV, as the kernel without redirect_dir', () => {
    try {
      ov.renameSync('/var/cache', '/var/cache2');
    } catch (e) {
      out(`    ${(e as Error).message}`);
    }
  });

  out('\n== merged view at the end:');
  tree('/', '    ', report.merged);
  return report;
}

/**
 * `npm run demo`: a narrated walk through copy-up, whiteouts, opaque directories and
 * rename on a small three-layer image, printing the upper layer and the merged view after
 * each step.
 */
import { Overlay, MemoryLayer, type Layer } from '../index.js';

const T = Date.UTC(2024, 0, 1);
const layers: Layer[] = [
  MemoryLayer.fromJSON({
    '/etc/os-release': { type: 'file', content: 'NAME=demo\n', mtimeMs: T },
    '/etc/passwd': { type: 'file', content: 'root:x:0:0::/root:/bin/sh\n', mtimeMs: T },
    '/bin/busybox': { type: 'file', content: '\x7fELF...', mode: 0o755, mtimeMs: T },
    '/bin/sh': { type: 'symlink', linkTarget: 'busybox' },
    '/var/cache/apt/pkgcache.bin': { type: 'file', content: 'cache', mtimeMs: T },
  }, 'base'),
  MemoryLayer.fromJSON({
    '/usr/share/app/config.json': '{"debug":false}\n',
    '/usr/share/app/README': 'read me\n',
    '/var/cache/apt/.wh.pkgcache.bin': '',
  }, 'app'),
  MemoryLayer.fromJSON({ '/etc/motd': 'hello from the top layer\n' }, 'config'),
];

const ov = new Overlay({ lower: layers });
const out = (s = ''): void => void process.stdout.write(s + '\n');
ov.on('copy-up', (e) => out(`    event copy-up   ${e.path} (${e.entryType}, from layer ${e.fromLayer})`));
ov.on('whiteout', (e) => out(`    event whiteout  ${e.path}`));
ov.on('opaque', (e) => out(`    event opaque    ${e.path}`));

function tree(list: (dir: string) => string[], dir = '/', indent = '    '): void {
  for (const name of list(dir)) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    out(`${indent}${name}`);
    if (isDir(path)) tree(list, path, indent + '  ');
  }
  function isDir(p: string): boolean {
    return ov.lstatSync(p).isDirectory();
  }
}

function showUpper(): void {
  const files = Object.keys(ov.upper.toJSON()).sort();
  out('  upper layer (OCI changeset form):');
  if (files.length === 0) out('    (empty)');
  for (const f of files) out(`    ${f}`);
}

function step(title: string, action: () => void): void {
  out(`\n== ${title}`);
  action();
  showUpper();
}

out('layerfs demo: three read-only layers (base, app, config) and an empty upper layer.');
out('\n  merged view:');
tree((d) => ov.readdirSync(d));
out(`\n  whereIs('/etc/motd'): ${JSON.stringify(ov.whereIs('/etc/motd'))}`);
out(`  whereIs('/var/cache/apt/pkgcache.bin'): ${JSON.stringify(ov.whereIs('/var/cache/apt/pkgcache.bin'))}`);

step('1. Append to a lower file: copy-up (parents first, then the file)', () => {
  ov.appendFileSync('/etc/passwd', 'demo:x:1000:1000::/home/demo:/bin/sh\n');
  out(`    /etc/passwd now reads:\n${String(ov.readFileSync('/etc/passwd', 'utf8')).trimEnd().replace(/^/gm, '      ')}`);
});

step('2. Delete a lower file: a whiteout hides it in every layer below', () => {
  ov.unlinkSync('/etc/os-release');
  out(`    exists('/etc/os-release') = ${ov.existsSync('/etc/os-release')}`);
});

step('3. Delete a directory and make it again: the new one is opaque', () => {
  ov.rmSync('/usr/share/app', { recursive: true });
  ov.mkdirSync('/usr/share/app');
  ov.writeFileSync('/usr/share/app/config.json', '{"debug":true}\n');
  out(`    readdir('/usr/share/app') = ${JSON.stringify(ov.readdirSync('/usr/share/app'))} (README from the app layer stays hidden)`);
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
tree((d) => ov.readdirSync(d));

import { MemoryLayer, type LayerJSON } from '../../src/index.js';
import type { Op } from './differential.js';

/** Old, distinct times, so preserved times are told apart from "now" and from each other. */
export const T0 = Date.UTC(2001, 0, 1);
export const T1 = Date.UTC(2002, 0, 1);
export const T2 = Date.UTC(2003, 0, 1);

const dir = (mode = 0o755, mtimeMs = T0, uid = 0, gid = 0) => ({ type: 'directory' as const, mode, mtimeMs, uid, gid });
const file = (content: string, mode = 0o644, mtimeMs = T1, uid = 0, gid = 0) => ({ type: 'file' as const, content, mode, mtimeMs, uid, gid });
const link = (linkTarget: string, mtimeMs = T1) => ({ type: 'symlink' as const, linkTarget, mtimeMs });

export interface Scenario {
  /** The rule it checks, as docs/semantics.md names it. */
  rule: string;
  name: string;
  layers: LayerJSON[];
  ops: Op[];
  redirectDir?: boolean;
}

/** A small image used by many scenarios: three layers with every kind of change. */
const base: LayerJSON = {
  '/': dir(0o755, T0),
  '/etc': dir(0o755, T0),
  '/etc/passwd': file('root:x:0:0\n', 0o644, T1),
  '/etc/shadow': file('secret\n', 0o640, T1, 0, 42),
  '/etc/hosts': file('127.0.0.1 localhost\n'),
  '/bin': dir(0o755, T0),
  '/bin/busybox': file('ELF', 0o755, T1),
  '/bin/sh': link('busybox'),
  '/bin/ls': { type: 'hardlink', target: '/bin/busybox' },
  '/usr': dir(0o755, T0),
  '/usr/share': dir(0o755, T0),
  '/usr/share/doc': dir(0o755, T0),
  '/usr/share/doc/a': file('a'),
  '/usr/share/doc/b': file('b'),
  '/var': dir(0o755, T0),
  '/var/cache': dir(0o700, T0, 7, 8),
  '/var/cache/x': file('x', 0o600, T1, 7, 8),
  '/opt': dir(0o755, T0),
  '/opt/app': file('was a file'),
  '/srv': file('srv was a file'),
  '/data': dir(0o755, T0),
  '/data/old': file('old'),
};
const middle: LayerJSON = {
  '/etc': dir(0o755, T1),
  '/etc/hosts': file('10.0.0.1 middle\n', 0o644, T2),
  '/etc/.wh.shadow': '',
  '/usr/share/doc/.wh..wh..opq': '',
  '/usr/share/doc/c': file('c'),
  '/opt/app': dir(0o750, T1),
  '/opt/app/run': file('#!/bin/sh\n', 0o755),
  '/srv': dir(0o755, T1),
  '/srv/www': file('index'),
  '/lib': link('usr/lib', T1),
  '/usr/lib': dir(0o755, T1),
  '/usr/lib/libc.so': file('libc'),
};
const top: LayerJSON = {
  '/etc/motd': file('welcome\n', 0o644, T2),
  '/.wh.data': '',
  '/data': dir(0o700, T2),
  '/data/new': file('new'),
  '/var/cache/.wh.x': '',
  '/abs': link('/etc/passwd', T2),
  '/loop1': link('loop2', T2),
  '/loop2': link('loop1', T2),
  '/dangling': link('/nowhere/file', T2),
};
const image = [base, middle, top];

export const scenarios: Scenario[] = [
  // ---- lookup and readdir
  { rule: 'lookup', name: 'top-down lookup, whiteouts, opaque dirs and type changes', layers: image, ops: [
    ['readFile', '/etc/hosts'], ['stat', '/etc/shadow'], ['readdir', '/etc'], ['readdir', '/usr/share/doc'],
    ['stat', '/opt/app'], ['readdir', '/opt/app'], ['stat', '/srv'], ['readdir', '/srv'], ['readdir', '/data'],
    ['stat', '/data/old'], ['readdir', '/var/cache'], ['readdir', '/'],
  ] },
  { rule: 'lookup', name: 'symlinks resolve across layers', layers: image, ops: [
    ['readFile', '/abs'], ['lstat', '/abs'], ['readFile', '/lib/libc.so'], ['readdir', '/lib'], ['stat', '/bin/sh'], ['lstat', '/bin/sh'],
    ['readlink', '/bin/sh'], ['stat', '/loop1'], ['stat', '/dangling'], ['readFile', '/lib/../etc/motd'], ['stat', '/etc/passwd/'],
    ['stat', '/etc/passwd/x'],
  ] },
  { rule: 'readdir', name: 'readdir of merged, opaque and lower-only directories', layers: image, ops: [
    ['readdir', '/'], ['readdir', '/usr'], ['readdir', '/usr/share'], ['readdir', '/bin'], ['readdir', '/etc/passwd'], ['readdir', '/missing'],
  ] },
  { rule: 'nlink', name: 'link counts of merged, single-layer and upper directories and lower hard links', layers: image, ops: [
    ['stat', '/'], ['stat', '/etc'], ['stat', '/usr/share'], ['stat', '/var'], ['stat', '/bin/busybox'], ['stat', '/bin/ls'],
    ['mkdir', '/new'], ['mkdir', '/new/sub'], ['stat', '/new'], ['writeFile', '/var/cache/y', 'y'], ['stat', '/var/cache'], ['stat', '/var'],
  ] },
  // ---- copy-up
  { rule: 'copy-up', name: 'open for write without writing copies up with parents and metadata', layers: image, ops: [
    ['open', '/var/cache/../../etc/shadow', 'r'], ['open', '/usr/share/doc/c', 'r+'], ['stat', '/usr/share/doc/c'], ['stat', '/usr/share'],
  ] },
  { rule: 'copy-up', name: 'reading never copies up', layers: image, ops: [
    ['readFile', '/etc/passwd'], ['open', '/etc/hosts', 'r'], ['readdir', '/usr/share/doc'], ['stat', '/bin/busybox'], ['readlink', '/bin/sh'],
  ] },
  { rule: 'copy-up', name: 'write, append, truncate of lower files', layers: image, ops: [
    ['appendFile', '/etc/passwd', 'user:x:1000\n'], ['writeFile', '/etc/hosts', 'replaced\n'], ['truncate', '/usr/share/doc/c', 0],
    ['truncate', '/bin/busybox', 10], ['open', '/usr/lib/libc.so', 'w'], ['readFile', '/etc/passwd'],
  ] },
  { rule: 'copy-up', name: 'metadata changes copy up: chmod, chown, utimes, lchown, lutimes', layers: image, ops: [
    ['chmod', '/etc/passwd', 0o600], ['chown', '/var/cache', 1, 2], ['utimes', '/usr/share/doc/a', 1_000_000_000, 1_100_000_000],
    ['lchown', '/bin/sh', 5, 6], ['lutimes', '/abs', 1_000_000_000, 1_200_000_000], ['chmod', '/opt/app', 0o700], ['chmod', '/lib', 0o700],
  ] },
  { rule: 'copy-up', name: 'chown clears setuid and group-executable setgid', layers: [{
    '/s': file('x', 0o4755), '/g': file('x', 0o2755), '/k': file('x', 0o2745), '/d': dir(0o2755),
  }], ops: [['chown', '/s', 0, 0], ['chown', '/g', -1, -1], ['chown', '/k', 0, 0], ['chown', '/d', 0, 0], ['stat', '/s'], ['stat', '/g'], ['stat', '/k'], ['stat', '/d']] },
  { rule: 'create', name: 'new objects in a set-group-ID directory take its group; directories keep the bit', layers: [{
    '/sg': dir(0o2755, T0, 0, 5), '/plain': dir(0o755, T0, 0, 5),
  }], ops: [['mkdir', '/sg/x'], ['writeFile', '/sg/f', 'f'], ['symlink', 'f', '/sg/l'], ['mkdir', '/plain/x'], ['chmod', '/plain', 0o2711], ['mkdir', '/plain/y'], ['stat', '/sg/x']] },
  { rule: 'copy-up', name: 'copy-up of one name of a lower hard link breaks the link', layers: image, ops: [
    ['chmod', '/bin/busybox', 0o700], ['stat', '/bin/busybox'], ['stat', '/bin/ls'], ['appendFile', '/bin/ls', '!'], ['readFile', '/bin/busybox'],
  ] },
  // ---- delete
  { rule: 'delete', name: 'unlink and rmdir of lower objects leave whiteouts', layers: image, ops: [
    ['unlink', '/etc/passwd'], ['unlink', '/bin/sh'], ['rmrf', '/usr/share/doc'], ['rmdir', '/srv'], ['unlink', '/srv/www'], ['rmdir', '/srv'],
    ['readdir', '/etc'], ['readdir', '/usr/share'], ['stat', '/srv'],
  ] },
  { rule: 'delete', name: 'rmdir of a merged directory that is empty in the merged view', layers: image, ops: [
    ['unlink', '/usr/share/doc/c'], ['rmdir', '/usr/share/doc'], ['readdir', '/usr/share'], ['unlink', '/var/cache'], ['rmdir', '/var/cache'],
  ] },
  { rule: 'delete', name: 'removing upper-only objects leaves no whiteout', layers: image, ops: [
    ['writeFile', '/tmpfile', 'x'], ['unlink', '/tmpfile'], ['mkdir', '/newdir'], ['writeFile', '/newdir/f', 'f'], ['rmrf', '/newdir'],
    ['writeFile', '/etc/new', 'n'], ['unlink', '/etc/new'],
  ] },
  { rule: 'opaque', name: 'mkdir where a whiteout stands makes an opaque directory', layers: image, ops: [
    ['rmrf', '/usr/share'], ['mkdir', '/usr/share'], ['readdir', '/usr/share'], ['mkdir', '/usr/share/doc'], ['readdir', '/usr/share/doc'],
    ['unlink', '/etc/hosts'], ['writeFile', '/etc/hosts', 'new'], ['mkdir', '/etc/shadow'], ['readdir', '/etc/shadow'],
  ] },
  { rule: 'opaque', name: 'mkdir of a name whited out in a lower layer', layers: image, ops: [
    ['mkdir', '/var/cache/x'], ['readdir', '/var/cache/x'], ['mkdir', '/var/newdir'],
  ] },
  { rule: 'opaque', name: 'mkdir in merged parents with redirect_dir=on', redirectDir: true, layers: image, ops: [
    ['mkdir', '/var/cache/x'], ['mkdir', '/var/newdir'], ['mkdir', '/var/newdir/inner'], ['mkdir', '/etc/shadow'],
  ] },
  // ---- rename
  { rule: 'rename', name: 'renaming files over existing targets, lower and upper', layers: image, ops: [
    ['rename', '/etc/passwd', '/etc/passwd.bak'], ['rename', '/etc/hosts', '/etc/motd'], ['writeFile', '/tmp1', 'x'],
    ['rename', '/tmp1', '/usr/share/doc/c'], ['rename', '/bin/sh', '/usr/lib/sh'], ['rename', '/etc/motd', '/etc/motd'],
    ['readdir', '/etc'], ['readFile', '/usr/share/doc/c'],
  ] },
  { rule: 'rename', name: 'renaming lower directories gives EXDEV without redirect_dir', layers: image, ops: [
    ['rename', '/usr/share', '/usr/share2'], ['rename', '/etc', '/var/cache'], ['rename', '/opt/app', '/opt/app2'],
    ['mkdir', '/fresh'], ['rename', '/etc', '/fresh'], ['rename', '/data', '/data2'],
  ] },
  { rule: 'rename', name: 'renaming upper-only directories; into a merged parent marks them opaque', layers: image, ops: [
    ['mkdir', '/up'], ['writeFile', '/up/f', 'f'], ['rename', '/up', '/usr/up'], ['readdir', '/usr/up'], ['mkdir', '/up2'],
    ['mkdir', '/up2/in'], ['rename', '/up2/in', '/up2/in2'], ['rename', '/usr/up', '/usr/share/doc'],
  ] },
  { rule: 'rename', name: 'rename errors: EINVAL, ENOTEMPTY, EISDIR, ENOTDIR, EBUSY, ENOENT', layers: image, ops: [
    ['rename', '/usr', '/usr/share/x'], ['rename', '/usr/share', '/usr'], ['rename', '/etc/passwd', '/usr'], ['rename', '/usr', '/etc/passwd'],
    ['rename', '/', '/x'], ['rename', '/nope', '/x'], ['rename', '/etc/passwd', '/nope/x'], ['rename', '/etc/passwd', '/etc/passwd/x'],
    ['mkdir', '/e1'], ['mkdir', '/e2'], ['writeFile', '/e2/f', ''], ['rename', '/e1', '/e2'], ['rename', '/e1', '/etc'],
  ] },
  { rule: 'rename', name: 'renaming names of one lower hard link renames (separate overlay inodes)', layers: image, ops: [
    ['rename', '/bin/busybox', '/bin/ls'], ['readdir', '/bin'], ['stat', '/bin/ls'],
  ] },
  { rule: 'redirect', name: 'redirect_dir=on: lower directories move and keep their lower content', redirectDir: true, layers: image, ops: [
    ['rename', '/usr/share', '/usr/share2'], ['readdir', '/usr/share2/doc'], ['rename', '/etc', '/var/etc'], ['readFile', '/var/etc/hosts'],
    ['rename', '/var/etc', '/var/etc2'], ['rename', '/usr/share2', '/share'], ['writeFile', '/share/doc/new', 'n'], ['readdir', '/share/doc'],
    ['rename', '/opt/app', '/data'], ['rename', '/srv', '/opt/app'],
  ] },
  // ---- link and symlink
  { rule: 'link', name: 'link copies the lower file up first', layers: image, ops: [
    ['link', '/etc/passwd', '/etc/passwd2'], ['stat', '/etc/passwd'], ['stat', '/etc/passwd2'], ['link', '/etc', '/etc2'],
    ['link', '/etc', '/bin'], ['link', '/etc/hosts', '/etc/passwd'], ['link', '/nope', '/x'], ['link', '/bin/sh', '/sh2'], ['readlink', '/sh2'],
    ['unlink', '/etc/hosts'], ['link', '/etc/passwd', '/etc/hosts'],
  ] },
  { rule: 'symlink', name: 'symlink creation and following on create', layers: image, ops: [
    ['symlink', 'target', '/etc/passwd'], ['symlink', '../etc/motd', '/bin/motd'], ['readFile', '/bin/motd'], ['unlink', '/etc/shadow'],
    ['symlink', 'x', '/etc/shadow'], ['writeFile', '/dangling', 'created through a dangling link'], ['mkdir', '/nowhere'],
    ['writeFile', '/dangling', 'created through a dangling link'], ['readFile', '/nowhere/file'],
  ] },
  { rule: 'symlink', name: 'a new name with a trailing slash: link and symlink (filename_create)', layers: image, ops: [
    ['symlink', 'target', '/new/'], ['symlink', 'target', '/etc/'], ['symlink', 'target', '/etc/passwd/'], ['symlink', '', '/empty'],
    ['link', '/etc/passwd', '/new2/'], ['link', '/etc/passwd', '/etc/'], ['link', '/etc/passwd', '/etc/hosts/'], ['stat', '/new'], ['stat', '/new2'],
  ] },
  { rule: 'lookup', name: 'a symlink reports mode 0777 whatever its layer says (symlink(2) makes it so; nothing changes it)', layers: [
    { '/l': { type: 'symlink', linkTarget: 'x', mode: 0o644, mtimeMs: T1 }, '/s': { type: 'symlink', linkTarget: '/l', mode: 0o4700, mtimeMs: T1 } },
  ], ops: [['lstat', '/l'], ['lstat', '/s'], ['lchown', '/l', 1000, 1000], ['lstat', '/l']] },
  { rule: 'link', name: 'a layer\'s hard links to files of the layers below: the target copied up into the layer, one inode with the links (containerd applies link(2) on the layers below)', layers: [
    { '/bin': dir(0o755, T0), '/bin/busybox': file('ELF', 0o4755, T1, 3, 4), '/bin/ls': { type: 'hardlink', target: '/bin/busybox' }, '/lib': link('usr/lib', T1), '/usr/lib/libc.so': file('libc', 0o644, T1), '/etc/hosts': file('hosts'), '/etc/motd': link('hosts', T1) },
    { '/usr/bin/env': { type: 'hardlink', target: '/bin/busybox' }, '/usr/bin/env2': { type: 'hardlink', target: '/usr/bin/env' }, '/bin/sh': { type: 'hardlink', target: '/bin/busybox' }, '/libc': { type: 'hardlink', target: '/lib/libc.so' }, '/etc/hosts2': { type: 'hardlink', target: '/etc/motd' }, '/etc/hosts': file('replaced', 0o600, T2) },
  ], ops: [
    ['lstat', '/bin/busybox'], ['lstat', '/bin/ls'], ['lstat', '/usr/bin/env'], ['lstat', '/usr/bin/env2'], ['lstat', '/libc'], ['lstat', '/usr/lib/libc.so'], ['lstat', '/etc/hosts2'], ['readlink', '/etc/hosts2'],
    ['readFile', '/usr/bin/env'], ['readdir', '/usr/bin'], ['writeFile', '/usr/bin/env', 'patched'], ['readFile', '/bin/busybox'], ['lstat', '/bin/busybox'], ['lstat', '/usr/bin/env2'],
    ['link', '/bin/sh', '/bin/sh3'], ['lstat', '/bin/sh'], ['unlink', '/bin/busybox'], ['lstat', '/bin/sh'],
  ] },
  { rule: 'link', name: 'a chain of hard links to lower files across layers: layer 2 links to the name layer 1 linked to layer 0\'s file', layers: [
    { '/f': file('one', 0o4755, T1, 3, 4), '/d': dir(0o755, T0) },
    { '/g': { type: 'hardlink', target: '/f' } },
    { '/d/h': { type: 'hardlink', target: '/g' } },
  ], ops: [['lstat', '/f'], ['lstat', '/g'], ['lstat', '/d/h'], ['readFile', '/d/h'], ['readFile', '/g'], ['writeFile', '/g', 'two'], ['readFile', '/d/h'], ['lstat', '/d/h']] },
  // ---- inode numbers
  { rule: 'inode numbers', name: 'copy-up keeps the lower st_ino of a file with one link and of a directory; a lower hard link copied up gets its own', layers: image, ops: [
    ['ino', '/etc/passwd'], ['ino', '/etc'], ['ino', '/bin/busybox'], ['ino', '/bin/ls'], ['ino', '/usr/share/doc'], ['ino', '/'],
    ['appendFile', '/etc/passwd', 'x\n'], ['ino', '/etc/passwd'], ['ino', '/etc'],
    ['writeFile', '/bin/busybox', 'patched'], ['ino', '/bin/busybox'], ['ino', '/bin/ls'],
    ['writeFile', '/usr/share/doc/new', 'n'], ['ino', '/usr/share/doc'], ['ino', '/usr/share/doc/new'],
    ['rename', '/etc/passwd', '/etc/passwd2'], ['ino', '/etc/passwd2'], ['link', '/etc/passwd2', '/etc/passwd3'], ['ino', '/etc/passwd3'],
    ['chmod', '/etc/hosts', 0o600], ['ino', '/etc/hosts'], ['symlink', 'x', '/etc/sl'], ['ino', '/etc/sl'], ['mkdir', '/etc/newdir'], ['ino', '/etc/newdir'],
    ['rmdir', '/data'], ['mkdir', '/data'], ['ino', '/data'], ['ino', '/'],
  ] },
  // ---- errors
  { rule: 'errors', name: 'errno of failing calls (and no copy-up from them)', layers: image, ops: [
    ['mkdir', '/etc'], ['mkdir', '/etc/passwd'], ['mkdir', '/etc/passwd/x'], ['mkdir', '/nope/x'], ['mkdir', `/${'n'.repeat(256)}`],
    ['rmdir', '/etc'], ['rmdir', '/usr/share'], ['rmdir', '/'], ['rmdir', '/etc/.'], ['rmdir', '/etc/..'], ['rmdir', '/etc/passwd'], ['rmdir', '/nope'],
    ['unlink', '/etc'], ['unlink', '/nope'], ['open', '/etc', 'w'], ['open', '/etc', 'r+'], ['open', '/etc/passwd', 'wx'],
    ['open', '/etc/passwd/', 'r'], ['open', '/newx/', 'w'], ['truncate', '/etc', 0], ['readdir', '/etc/passwd'], ['symlink', 'x', '/etc/hosts'],
    ['readlink', '/etc/passwd'], ['readFile', '/etc'], ['stat', '/loop1/x'], ['writeFile', '/loop1', 'x'],
  ] },
  // ---- regressions found by the differential harness (test/differential)
  { rule: 'regression', name: 'rm -r through a symlink to a parent removes by path, as Node does', layers: [
    { '/b/c': link('..', T0) },
  ], ops: [['rmrf', '/b/c/b']] },
  { rule: 'regression', name: 'rm -r of a missing path is ENOENT: rmSync lstats it before removing anything', layers: [
    {},
  ], ops: [['rmrf', '/a'], ['rmrf', '/a']] },
  { rule: 'regression', name: 'rm -r through a symlink to the root, next to a directory only a lower layer has', layers: [
    { '/b/c/.wh.a': '' },
  ], ops: [['symlink', '/', '/b/a'], ['rmrf', '/b/a/b']] },
  { rule: 'regression', name: 'a redirected directory inside a redirected directory names its lower path through the parent', redirectDir: true, layers: [
    { '/a/a': dir(0o755, T0) }, { '/b/.wh..wh..opq': '' },
  ], ops: [['rename', '/a', '/b/a'], ['rename', '/b/a/a', '/b/a/c'], ['readdir', '/b/a']] },
  { rule: 'regression', name: 'a redirected directory that fails to move to another directory touches its old parent', redirectDir: true, layers: [
    { '/c/a': file('') }, { '/a/a': file('') }, { '/p/c/a': file(''), '/q/z': file('') },
  ], ops: [['mkdir', '/a/c'], ['symlink', 'a', '/a/c/a'], ['rename', '/c', '/a/c'], ['mkdir', '/q/c'], ['writeFile', '/q/c/f', ''], ['rename', '/p/c', '/q/c']] },
];

export function layersOf(s: Scenario): MemoryLayer[] {
  return s.layers.map((json, i) => MemoryLayer.fromJSON(json, `layer${i}`));
}

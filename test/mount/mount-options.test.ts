import { describe, expect, it } from 'vitest';
import { parseOverlayOptions } from '../../src/mount/mount-options.js';

/** The kernel overlay's option syntax as mount-options.ts reads it (the mount itself: upperdir.test.ts). */
describe('parseOverlayOptions', () => {
  it('splits at unescaped commas and colons, top layer first, and removes the escapes', () => {
    const o = parseOverlayOptions('rw,lowerdir=/l/a\\:b:/l/c\\,d:/l/e\\\\f,upperdir=/u\\,1,workdir=/w,dev,suid');
    expect(o.lowerdirs).toEqual(['/l/a:b', '/l/c,d', '/l/e\\f']);
    expect(o).toMatchObject({ upperdir: '/u,1', workdir: '/w', readOnly: false, mountFlags: ['dev', 'suid'] });
  });
  it('lowerdir+= adds layers below, lowerdir= replaces; no upperdir is read-only and drops workdir', () => {
    expect(parseOverlayOptions('lowerdir=/a,lowerdir+=/b,lowerdir+=/c').lowerdirs).toEqual(['/a', '/b', '/c']);
    expect(parseOverlayOptions('lowerdir+=/b,lowerdir=/a').lowerdirs).toEqual(['/a']);
    const lowerOnly = parseOverlayOptions('lowerdir=/a,workdir=/w');
    expect(lowerOnly.readOnly).toBe(true);
    expect(lowerOnly.workdir).toBeUndefined();
    expect(parseOverlayOptions('lowerdir=/a,upperdir=/u,workdir=/w,ro').readOnly).toBe(true);
  });
  it('redirect_dir: on makes and follows, follow only follows, off and nofollow neither', () => {
    expect(parseOverlayOptions('lowerdir=/a,redirect_dir=on')).toMatchObject({ redirectDir: true, followRedirects: true });
    expect(parseOverlayOptions('lowerdir=/a,redirect_dir=follow')).toMatchObject({ redirectDir: false, followRedirects: true });
    expect(parseOverlayOptions('lowerdir=/a,redirect_dir=off')).toMatchObject({ redirectDir: false, followRedirects: false });
  });
  it('refuses what it cannot honour or does not know, naming the option', () => {
    for (const [opts, says] of [
      ['lowerdir=/a,index=on', 'index=on'],
      ['lowerdir=/a,xino=sometimes', 'xino=sometimes'],
      ['lowerdir=/a,userxattr', 'userxattr'],
      ['lowerdir=/a,datadir+=/d', 'datadir+'],
      ['lowerdir=/a::/b', 'empty lower directory'],
      ['lowerdir=', 'needs a directory'],
      ['upperdir=/u,workdir=/w', "missing 'lowerdir'"],
      ['lowerdir=/a,upperdir=/u', "missing 'workdir'"],
      ['lowerdir=/a,fsname=x', 'fsname=x: unknown option'],
    ] as const) {
      expect(() => parseOverlayOptions(opts), opts).toThrow(expect.objectContaining({ code: 'ERR_MOUNT_OPTION', message: expect.stringContaining(says) }));
    }
  });
});

describe('isFuseHelperCall', () => {
  it("is mount.fuse3's call, with or without SOURCE, and no verb's line", async () => {
    const { isFuseHelperCall } = await import('../../src/cli/fuse-helper-call.js');
    expect(isFuseHelperCall(['layerfs', '/mnt', '-o', 'rw,lowerdir=/a,dev,suid'])).toBe(true);
    expect(isFuseHelperCall(['/mnt', '-o', 'lowerdir=/a:/b'])).toBe(true);
    expect(isFuseHelperCall(['mount', 'img', '/mnt'])).toBe(false);
    expect(isFuseHelperCall(['ls', 'img', '-o', 'x'])).toBe(false);
    expect(isFuseHelperCall(['layerfs', '/mnt', '-o', 'rw'])).toBe(false);
  });
});

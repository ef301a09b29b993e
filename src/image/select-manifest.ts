import { arch } from 'node:process';
import type { Descriptor, Platform } from './descriptor.js';
import { ImageError } from './errors.js';
import type { OpenImageOptions } from './image-options.js';

// Platform choice: which manifest of an index an image is opened as (image-index.md).

function hostPlatform(): Platform {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: map[arch] ?? arch };
}

/** The platform asked for (its form checked with the options), or the running one. */
function parsePlatform(p: string | Platform | undefined): Platform {
  if (p === undefined) return hostPlatform();
  if (typeof p !== 'string') return p;
  const [os, architecture, variant] = p.split('/') as [string, string, string?];
  return { os, architecture, ...(variant ? { variant } : {}) };
}

const platformName = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** Picks one manifest from an index by ref and platform (image-index.md). */
export function selectManifest(index: { manifests?: Descriptor[] }, options: Pick<OpenImageOptions, 'ref' | 'platform'>, where: string): Descriptor {
  let candidates = index.manifests ?? [];
  if (candidates.length === 0) throw new ImageError(where, 'the index lists no manifests');
  if (options.ref !== undefined) {
    candidates = candidates.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] === options.ref);
    if (candidates.length === 0) {
      const refs = (index.manifests ?? []).map((d) => d.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
      throw new ImageError(where, `no manifest has ref ${options.ref}; refs: ${refs.join(', ') || '(none)'}`);
    }
  }
  const withPlatform = candidates.filter((d) => d.platform);
  if (withPlatform.length === 0 && candidates.length === 1) return candidates[0]!;
  const want = parsePlatform(options.platform);
  const match = candidates.find((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture && (!want.variant || d.platform.variant === want.variant));
  if (match) return match;
  if (withPlatform.length === 0 && candidates.length > 1) throw new ImageError(where, `the index holds ${candidates.length} manifests; choose one with ref`);
  const available = candidates.map((d) => (d.platform ? platformName(d.platform) : '(no platform)'));
  throw new ImageError(where, `no manifest for platform ${platformName(want)}; available: ${available.join(', ')}`);
}

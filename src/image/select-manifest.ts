import { arch } from 'node:process';
import type { Descriptor, Platform } from './descriptor.js';
import { ImageError } from './errors.js';
import type { OpenImageOptions } from './image-options.js';
import { parsePlatform, pickPlatform, platformName } from './platform-match.js';

// Platform choice: which manifest of an index an image is opened as (image-index.md).

function hostPlatform(): Platform {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: map[arch] ?? arch };
}

/** The platform asked for (its form checked with the options), or the running one: what a pull chooses from an index by. */
export function wantedPlatform(p: string | Platform | undefined): Platform {
  if (p === undefined) return hostPlatform();
  return typeof p === 'string' ? parsePlatform(p) : p;
}

/**
 * Picks one manifest from an index by ref and platform (image-index.md). `layout`: the index
 * is a layout's index.json, which lists images (image-layout.md), not one image's platforms:
 * its only image is taken whatever platform its descriptor names unless a platform is asked
 * for, as skopeo's oci: transport takes it (an image of no platform is taken anyway). A
 * nested index is a multi-platform image: its platform must match, as containerd requires.
 */
export function selectManifest(index: { manifests?: Descriptor[] }, options: Pick<OpenImageOptions, 'ref' | 'platform'>, where: string, layout = false): Descriptor {
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
  if (candidates.length === 1 && (withPlatform.length === 0 || (layout && options.platform === undefined))) return candidates[0]!;
  const want = wantedPlatform(options.platform);
  const match = pickPlatform(candidates.map((d) => d.platform), want);
  if (match >= 0) return candidates[match]!;
  if (withPlatform.length === 0 && candidates.length > 1) throw new ImageError(where, `the index holds ${candidates.length} manifests; choose one with ref`);
  const available = candidates.map((d) => (d.platform ? platformName(d.platform) : '(no platform)'));
  throw new ImageError(where, `no manifest for platform ${platformName(want)}; available: ${available.join(', ')}`);
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLayer, TarLayer, type Layer, type LayerJSON } from '../../src/index.js';
import { layerToTar } from '../support/to-tar.js';

/** How a generated stack becomes layers: memory layers, or OCI layer tarballs read back. */
export type MakeLayers = (json: LayerJSON[]) => Promise<Layer[]>;

export const toLayers = (json: LayerJSON[]): MemoryLayer[] => json.map((l, i) => MemoryLayer.fromJSON(l, `L${i}`));

export const memoryLayers: MakeLayers = async (json) => toLayers(json);

/**
 * The same layers as OCI layer tarballs read back by TarLayer: the tar path held to the same
 * oracle. Every other layer is a file on disk (indexed by the header walk, content read by
 * offset), the rest Buffers (the streaming extract, content in memory). `dispose` removes the
 * files (call it in afterAll).
 */
export function tarLayerMaker(): { make: MakeLayers; dispose: () => void } {
  // Made on first use: vitest runs no afterAll in a file whose tests are all skipped (no kernel).
  let tarDir: string | undefined;
  let tarFiles = 0;
  const make: MakeLayers = async (json) => Promise.all(toLayers(json).map(async (l, i) => {
    const tar = await layerToTar(l);
    if (i % 2 === 0) return TarLayer.from(tar, { name: l.name });
    tarDir ??= mkdtempSync(join(tmpdir(), 'lfs-diff-tars-'));
    const file = join(tarDir, `${tarFiles++}.tar`);
    writeFileSync(file, tar);
    return TarLayer.from(file, { name: l.name });
  }));
  return { make, dispose: () => tarDir && rmSync(tarDir, { recursive: true, force: true }) };
}

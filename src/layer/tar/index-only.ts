import type { ContentRef } from '../entry.js';
import type { IndexedTar } from './layer-info.js';

// content: 'none' (layer-options.ts): a layer that keeps its index and no file content.

/** What an index-only layer keeps of a file: its size, no bytes (a read is ERR_LAYER_NO_CONTENT, indexed-layer.ts). */
export function sizeOnly(size: number): ContentRef {
  return { file: undefined, offset: 0, size };
}

/**
 * A layer's index with its content let go of, each file's size kept: the header walk leaves
 * content in the layer file, and an index-only layer reads none of it either.
 */
export function indexOnly(tar: IndexedTar): IndexedTar {
  const content = tar.built.content;
  for (const [inode, data] of content) content.set(inode, sizeOnly(Buffer.isBuffer(data) ? data.length : data.size));
  return { built: tar.built, info: { ...tar.info, contentOnDisk: false } };
}

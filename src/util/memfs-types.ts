import type { Volume } from 'memfs';

/** memfs's directory entry (a name pointing at an inode), from its core `Superblock`. */
export type MemfsLink = Volume['_core']['root'];
/** memfs's inode. */
export type MemfsNode = ReturnType<MemfsLink['getNode']>;

import type { OverlayEvent } from '../../overlay/engine.js';
import { layerLabel } from '../../overlay/provenance.js';

/** What the kernel did, in words a class can follow (sections of overlayfs.rst in brackets). */
export function narrate(e: OverlayEvent): string {
  switch (e.type) {
    case 'copy-up':
      return e.entryType === 'directory'
        ? `copy-up ${e.path}: the directory from ${layerLabel(e.fromLayer)} is made in the upper layer first, so that what is written below it has a parent there ("Non-directories": parents first)`
        : `copy-up ${e.path}: the ${e.entryType} is copied from ${layerLabel(e.fromLayer)} into the upper layer, data and metadata, before it is changed; the lower copy is never touched ("Non-directories")`;
    case 'whiteout':
      return `whiteout ${e.path}: a lower layer still has this name, so the upper layer records the deletion as .wh.${e.path.slice(e.path.lastIndexOf('/') + 1)} ("whiteouts and opaque directories")`;
    case 'opaque':
      return `opaque ${e.path}: a new directory over one a lower layer has; .wh..wh..opq in it hides everything the lower layers hold there ("whiteouts and opaque directories")`;
  }
}

/** Why an operation failed, when the reason is the overlay's. */
export function explainError(code: string | undefined, call: string): string {
  if (code === 'EXDEV' && call === 'rename') {
    return 'The kernel refuses to rename a directory that a lower layer provides unless redirect_dir=on; mv would copy it instead ("Renaming directories"). Tick redirect_dir and try again.';
  }
  if (code === 'ENOTEMPTY') return 'rmdir only removes empty directories; Delete removes recursively.';
  return '';
}

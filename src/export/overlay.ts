import { OverlayFs, engineOf } from '../fs/overlay-fs.js';
import { upperEntries } from '../overlay/upper-entries.js';
import { mergedEntries } from '../overlay/merged-entries.js';
import { checkExportDirOptions } from './options.js';
import { writeTar, type TarWriteOptions, type TarWriteResult } from './tar-writer.js';
import { exportDir, type ExportDirOptions, type ExportDirReport } from './export-dir.js';

/**
 * The package's overlay: the fs-shaped OverlayFs (fs/overlay-fs.ts) and the calls that write
 * its result out. They live here, in the export tier, so that the fs facade, and with it the
 * teaching page's browser bundle, does not carry the tar writer or the directory exporter.
 */
export class Overlay extends OverlayFs {
  /**
   * The upper layer as an OCI layer tarball: deterministic (sorted, normalised headers,
   * optional SOURCE_DATE_EPOCH clamp), `.wh.` whiteouts and `.wh..wh..opq` markers, gzip by
   * default. `info` resolves to the digest, diff_id and size once the stream is read.
   */
  commit(options: TarWriteOptions = {}): TarWriteResult {
    return writeTar(upperEntries(engineOf(this)), options);
  }

  /**
   * The merged view as one flat tar (no whiteouts), uncompressed by default: streamed, lower
   * files read from their layers a piece at a time as the stream is read.
   */
  exportTar(options: TarWriteOptions = {}): TarWriteResult {
    return writeTar(mergedEntries(engineOf(this), engineOf(this).root, { lowerByPosition: true }), options, 'none');
  }

  /** Writes the merged view into a real directory, safely (never outside it); see docs/export.md. */
  exportDir(target: string, options: ExportDirOptions = {}): ExportDirReport {
    return exportDir(engineOf(this), target, checkExportDirOptions(options));
  }
}

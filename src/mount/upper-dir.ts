import type { Volume } from 'memfs';
import type { Overlay } from '../export/overlay.js';
import { engineOf } from '../fs/overlay-fs.js';
import type { DirHandle } from '../host/dir-handle.js';
import { removeTreeAt } from '../host/remove-tree-at.js';
import { applyXattrs, loadUpperDir, openUpperAndWork, type LoadedUpper } from './upper-dir-load.js';
import { UpperDirMirror } from './upper-dir-mirror.js';
import { MountError } from './mount-error.js';

/**
 * An upper directory and its workdir as the kernel's overlay takes them (`upperdir=U`,
 * `workdir=W`): checked as the kernel checks them, U read as the upper layer
 * (upper-dir-load.ts), then, once the overlay is made over `volume`, kept in step with it
 * (upper-dir-mirror.ts). The workdir holds what the kernel's does, `W/work`, emptied at
 * mount (ovl_workdir_create): new files are written there and renamed into U.
 */
export class UpperDir {
  readonly volume: Volume;
  private readonly loaded: LoadedUpper;
  private readonly upper: DirHandle;
  private readonly work: DirHandle;
  private readonly scratch: DirHandle;
  private mirror: UpperDirMirror | undefined;

  private constructor(upperdir: string, workdir: string) {
    const { upper, work } = openUpperAndWork(upperdir, workdir);
    this.upper = upper;
    this.work = work;
    let scratch: DirHandle | undefined;
    try {
      removeTreeAt(work, 'work');
      scratch = work.makeDir('work', 0o700);
      this.loaded = loadUpperDir(upperdir);
      this.volume = this.loaded.volume;
      this.scratch = scratch;
    } catch (e) {
      scratch?.close();
      upper.close();
      work.close();
      if (e instanceof MountError) throw e;
      throw new MountError('ERR_MOUNT_FAILED', `workdir=${workdir}: cannot make its work directory: ${(e as Error).message}`, { cause: e });
    }
  }

  static open(upperdir: string, workdir: string): UpperDir {
    return new UpperDir(upperdir, workdir);
  }

  /** The directories of U that hold a trusted.overlay.redirect (a redirect_dir=on mount's renames). */
  get redirected(): number {
    return this.loaded.redirects.length;
  }

  /** Starts keeping U in step with `ov`, an overlay made with `upper: this.volume`. */
  attach(ov: Overlay): UpperDirMirror {
    const engine = engineOf(ov);
    if (engine.upper.volume !== this.volume) throw new Error('layerfs internal error: the overlay was not made over this upper directory');
    applyXattrs(engine.upper, this.loaded);
    this.mirror = new UpperDirMirror(engine.upper, this.upper, this.scratch);
    return this.mirror;
  }

  close(): void {
    this.mirror?.close();
    this.scratch?.close();
    this.upper.close();
    this.work.close();
  }
}

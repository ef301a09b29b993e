import { mkdirSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExportError, type ExportDirReport } from '../../export/export-dir.js';
import { CliError, bytes, type CliIO } from '../io.js';
import { emitJson, out, type Flags, type Verb, type VerbContext } from '../verb.js';
import { LayerfsError } from '../../util/errors.js';
import { REF_FLAGS } from '../store-dir.js';

export const exportVerb: Verb = {
  takes: 'image',
  usage: 'export IMAGE (--tar FILE|- | --dir DIR [--overwrite | --allow-non-empty])',
  summary: 'the merged rootfs as one tar (- is stdout) or into a directory, made when missing and refused when not empty unless a flag says otherwise',
  options: {
    ...REF_FLAGS,
    tar: { type: 'string', value: 'FILE', help: 'write one uncompressed tar; - writes it to stdout, as tar -cf - does' },
    dir: { type: 'string', value: 'DIR', help: 'write the files into DIR (made, with its parents, when missing); never writes outside it' },
    overwrite: { type: 'boolean', help: 'with --dir: finish or redo an export there, replacing what is in the way' },
    'allow-non-empty': { type: 'boolean', help: 'with --dir: write beside what DIR holds (a name already there is refused)' },
  },
  maxPositionals: 1,
  notes: ['--json reports {target, format, entries, bytes, skipped}; with --tar - the report goes to stderr, since stdout carries the tar. docs/export.md tells what a directory export keeps and skips.'],
  refuseEarly: refuseFlags,
  run: exportImage,
};

/** The flags' refusals, made before IMAGE is opened (GNU tar refuses a terminal before it reads a file). */
function refuseFlags(flags: Flags, io: CliIO): void {
  const { tar, dir } = flags;
  const overwrite = flags.overwrite === true;
  const allowNonEmpty = flags['allow-non-empty'] === true;
  if (typeof tar === 'string' && typeof dir === 'string') throw new CliError('export: --tar or --dir, not both', 2);
  if (typeof tar === 'string') {
    if (overwrite || allowNonEmpty) throw new CliError('export: --overwrite and --allow-non-empty go with --dir, not --tar', 2);
    // GNU tar: "Refusing to write archive contents to terminal" (exit 2); the bytes would garble it.
    if (tar === '-' && io.stdoutIsTTY) throw new CliError('export: refusing to write the tar to a terminal (redirect stdout, or give --tar FILE)', 2);
  } else if (typeof dir === 'string') {
    if (overwrite && allowNonEmpty) throw new CliError('export: --overwrite or --allow-non-empty, not both: --overwrite replaces what is there, --allow-non-empty refuses to', 2);
  } else throw new CliError('export: --tar FILE or --dir DIR is needed', 2);
}

/** Runs after refuseFlags: the flags go together. */
async function exportImage(ctx: VerbContext): Promise<void> {
  const { tar, dir } = ctx.flags;
  if (typeof tar === 'string') return exportTar(ctx, tar);
  return exportDir(ctx, dir as string, ctx.flags.overwrite === true, ctx.flags['allow-non-empty'] === true);
}

/**
 * The tar to FILE or stdout, streamed: each piece is written before the next is made (the
 * stream waits for the file or the reader of stdout), so memory does not grow with the image.
 */
async function exportTar(ctx: VerbContext, target: string): Promise<void> {
  if (target !== '-') refuseOwnInput(ctx, target);
  const { stream, info } = ctx.image.overlay().exportTar();
  const file = target === '-' ? undefined : await open(target, 'w').catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`${target}: cannot write the tar there (${e.code ?? e.message})`);
  });
  if (file) {
    // The file's stream closes it, when done or failed.
    try {
      await pipeline(stream, file.createWriteStream());
    } catch (e) {
      // A cut tar reads as a whole one up to its cut: a regular file this export began is removed
      // (a device or FIFO given as FILE is left alone).
      if (statSync(target, { throwIfNoEntry: false })?.isFile()) unlinkSync(target);
      if (e instanceof LayerfsError) throw e;
      throw new CliError(`${target}: cannot write the tar (${(e as Error).message})`);
    }
  } else {
    // stdout is left open, for what follows; its write errors end the program (main.ts).
    await pipeline(stream, ctx.io.stdoutStream ?? callbackWritable(ctx.io.stdout), { end: false });
  }
  const written = await info;
  // The root (`./`) is not counted, as exportDir does not count the target.
  const report = { target, format: 'tar', entries: written.entries - 1, bytes: written.size, skipped: [] };
  // With --tar -, stdout carries the tar: the report goes to stderr.
  if (target === '-') {
    if (ctx.json) ctx.io.stderr(JSON.stringify(report) + '\n');
  } else if (ctx.json) emitJson(ctx, report);
  else out(ctx, `${report.entries} entries, ${bytes(report.bytes)} written to ${target}`);
}

/**
 * --tar FILE naming the image's own archive, one of the layer files of an image in a
 * directory (a docker save directory's `<id>/layer.tar` too, or a hard link to one), or a blob
 * of its layout would truncate what is being read: refused, as GNU tar refuses ("file is the
 * archive; not dumped"). Compared by device and inode, so no other name of the file passes.
 */
function refuseOwnInput(ctx: VerbContext, target: string): void {
  const there = statSync(target, { throwIfNoEntry: false });
  if (!there?.isFile()) return;
  const isThere = (path: string) => {
    const st = statSync(path, { throwIfNoEntry: false });
    return st !== undefined && st.dev === there.dev && st.ino === there.ino;
  };
  const archive = statSync(ctx.image.source).isFile();
  const same = archive ? isThere(ctx.image.source) : ctx.image.layerFiles().some(isThere) || realpathSync(target).startsWith(join(realpathSync(ctx.image.source), 'blobs') + sep);
  if (same) throw new CliError(`${target}: is the image being exported (${archive ? 'its archive' : 'one of its files'}); not written`);
}

/** A Writable over a write callback with no backpressure of its own (an in-process CliIO). */
function callbackWritable(write: (chunk: Buffer) => void): Writable {
  return new Writable({ write: (chunk: Buffer, _enc, cb) => (write(chunk), cb()) });
}

async function exportDir(ctx: VerbContext, dir: string, overwrite: boolean, allowNonEmpty: boolean): Promise<void> {
  // Made when missing, as crane export and umoci unpack make theirs; exportDir then opens it itself.
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliError(`${dir}: cannot make the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let report: ExportDirReport;
  try {
    report = ctx.image.overlay().exportDir(dir, {
      overwrite,
      allowNonEmpty,
      onProgress: ctx.io.stderrIsTTY ? ({ entries, bytes: b }) => ctx.io.stderr(`\rexporting: ${entries} entries, ${bytes(b)}`) : undefined,
    });
  } catch (e) {
    throw exportDirError(e);
  }
  if (ctx.io.stderrIsTTY) ctx.io.stderr('\n');
  if (ctx.json) emitJson(ctx, { target: dir, format: 'dir', ...report });
  else out(ctx, `${report.entries} entries, ${bytes(report.bytes)} written to ${dir}${report.skipped.length ? `; ${report.skipped.length} skipped (--json lists them with the reason)` : ''}`);
}

/** exportDir's refusals that the user answers with a flag, told in the CLI's flags. */
function exportDirError(e: unknown): unknown {
  if (!(e instanceof ExportError)) return e;
  if (e.code === 'ERR_NOT_EMPTY') return new CliError(`${e.path}: the directory is not empty (--allow-non-empty writes beside what is there, --overwrite replaces it)`);
  if (e.code === 'EEXIST') return new CliError(`${e.path}: already there (--overwrite replaces it)`);
  return e;
}

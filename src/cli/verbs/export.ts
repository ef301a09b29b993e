import { writeFileSync } from 'node:fs';
import { collectStream } from '../../export/tar-writer.js';
import { ExportError, type ExportDirReport } from '../../export/export-dir.js';
import { CliError, bytes } from '../io.js';
import { emitJson, out, type Verb, type VerbContext } from '../verb.js';

export const exportVerb: Verb = {
  takes: 'image',
  usage: 'export IMAGE (--tar FILE | --dir DIR [--overwrite | --allow-non-empty])',
  summary: 'the merged rootfs as one tar or into an empty directory; --overwrite finishes or redoes an export there, --allow-non-empty writes beside what is there',
  options: { tar: { type: 'string' }, dir: { type: 'string' }, overwrite: { type: 'boolean' }, 'allow-non-empty': { type: 'boolean' } },
  run: exportImage,
};

async function exportImage(ctx: VerbContext): Promise<void> {
  const ov = ctx.image.overlay();
  const overwrite = ctx.flags.overwrite === true;
  const allowNonEmpty = ctx.flags['allow-non-empty'] === true;
  if (typeof ctx.flags.tar === 'string') {
    if (overwrite || allowNonEmpty) throw new CliError('--overwrite and --allow-non-empty go with --dir, not --tar', 2);
    writeFileSync(ctx.flags.tar, await collectStream(ov.exportTar().stream));
    if (ctx.json) emitJson(ctx, { tar: ctx.flags.tar });
    return;
  }
  if (typeof ctx.flags.dir === 'string') {
    if (overwrite && allowNonEmpty) throw new CliError('--overwrite or --allow-non-empty, not both: --overwrite replaces what is there, --allow-non-empty refuses to', 2);
    let report: ExportDirReport;
    try {
      report = ov.exportDir(ctx.flags.dir, {
        overwrite,
        allowNonEmpty,
        onProgress: ctx.io.stderrIsTTY ? ({ entries, bytes: b }) => ctx.io.stderr(`\rexporting: ${entries} entries, ${bytes(b)}`) : undefined,
      });
    } catch (e) {
      throw exportDirError(e);
    }
    if (ctx.io.stderrIsTTY) ctx.io.stderr('\n');
    if (ctx.json) emitJson(ctx, report);
    else out(ctx, `${report.entries} entries, ${bytes(report.bytes)} written to ${ctx.flags.dir}${report.skipped.length ? `; ${report.skipped.length} skipped (--json lists them with the reason)` : ''}`);
    return;
  }
  throw new CliError('export needs --tar FILE or --dir DIR', 2);
}

/** exportDir's refusals that the user answers with a flag, told in the CLI's flags. */
function exportDirError(e: unknown): unknown {
  if (!(e instanceof ExportError)) return e;
  if (e.code === 'ERR_NOT_EMPTY') return new CliError(`${e.path}: the directory is not empty (--allow-non-empty writes beside what is there, --overwrite replaces it)`);
  if (e.code === 'EEXIST') return new CliError(`${e.path}: already there (--overwrite replaces it)`);
  return e;
}

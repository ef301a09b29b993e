import { LayerfsError } from '../util/errors.js';

/** Where a command writes, and what it knows about the terminal (so tests can run verbs in-process). */
export interface CliIO {
  stdout: (text: string | Buffer) => void;
  /** stdout as a stream, for output too large to queue (export --tar -): written as its reader reads. */
  stdoutStream?: NodeJS.WritableStream;
  stderr: (text: string) => void;
  /** stderr is a terminal: progress may be shown there. */
  stderrIsTTY: boolean;
  /** stdout is a terminal: binary output (export --tar -) is refused there, as GNU tar refuses it. */
  stdoutIsTTY?: boolean;
  /** Colour allowed: a terminal and no NO_COLOR (https://no-color.org). */
  color: boolean;
  /** Ends a long-running verb (serve) when aborted; a program run also ends it on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/** A user error: printed as one line, exit status 1 (2 for usage errors). `code` is `ERR_USAGE` for exit status 2, else `ERR_CLI`. */
export class CliError extends LayerfsError {
  constructor(message: string, readonly exitCode = 1) {
    super(exitCode === 2 ? 'ERR_USAGE' : 'ERR_CLI', message);
    this.name = 'CliError';
  }
}

export function paint(io: CliIO, code: number, text: string): string {
  return io.color ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** Fixed-width columns; the last column is left unpadded. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(c).length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - visible(c).length))).join('  ')).join('\n');
}

function visible(s: string): string {
  return s.replace(/\u001b\[[0-9;]*m/g, '');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

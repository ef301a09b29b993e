import type { FlagSpec, Verb } from './verb.js';

/** Help text fits a classic terminal. */
export const HELP_WIDTH = 80;

/** The flags every verb takes. */
export const SHARED_FLAGS: Record<string, FlagSpec> = {
  platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', help: "which manifest of a multi-platform image (default: this machine's); containerd's matching: linux/arm is arm/v7 (and takes v6, v5), linux/amd64/v2 takes amd64" },
  json: { type: 'boolean', help: 'machine-readable output (docs/cli.md "JSON")' },
  help: { type: 'boolean', help: 'this help' },
};

/** Words of `text` in lines of at most `width` columns, each after `indent`, the first after `first`. */
export function wrap(text: string, width: number, indent: string, first = indent): string {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

export const IMAGE_FORMS = 'IMAGE is an OCI layout directory, an OCI archive or a docker save archive, as a path or as skopeo names them: DIR or DIR:TAG, oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG]. A TAG picks one image of several. Or a registry REF, docker://HOST[:PORT]/REPO[:TAG][@sha256:...] (the bare REF when no such path exists), opened from the content store (--store) and pulled into it as --pull says.';

/** `layerfs --help`: every verb and one line of what it does. */
export function programHelp(verbs: Readonly<Record<string, Verb>>): string {
  const names = Object.keys(verbs);
  const w = Math.max(...names.map((n) => n.length));
  return [
    'usage: layerfs VERB IMAGE [ARGS] [--platform OS/ARCH[/VARIANT]] [--json]',
    '       layerfs help VERB | layerfs --version',
    '',
    wrap(IMAGE_FORMS, HELP_WIDTH, ''),
    '',
    'verbs:',
    ...names.map((n) => wrap(verbs[n]!.summary, HELP_WIDTH, ' '.repeat(w + 4), `  ${n.padEnd(w)}  `)),
    '',
    wrap('Exit status: 0 ok, 1 error (one line on stderr), 2 usage error. NO_COLOR turns colour off. `layerfs help VERB` tells a verb\'s flags.', HELP_WIDTH, ''),
  ].join('\n');
}

/** `layerfs help VERB`, `layerfs VERB --help`: usage, what it does, each flag, notes. */
export function verbHelp(verb: Verb): string {
  const flags = { ...(verb.options ?? {}), ...SHARED_FLAGS };
  const label = (n: string, f: FlagSpec) => `--${n}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`;
  const w = Math.min(24, Math.max(...Object.entries(flags).map(([n, f]) => label(n, f).length)));
  const flagLines = Object.entries(flags).map(([n, f]) => {
    const l = label(n, f);
    // A label wider than the column gets a line of its own.
    return l.length > w ? `  ${l}\n${wrap(f.help, HELP_WIDTH, ' '.repeat(w + 4))}` : wrap(f.help, HELP_WIDTH, ' '.repeat(w + 4), `  ${l.padEnd(w)}  `);
  });
  return [
    wrap(`${verb.usage} [--platform P] [--json]`, HELP_WIDTH, '         ', 'usage: layerfs '),
    '',
    wrap(verb.summary, HELP_WIDTH, ''),
    '',
    'flags:',
    ...flagLines,
    ...(verb.notes ?? []).flatMap((n) => ['', wrap(n, HELP_WIDTH, '')]),
    '',
    wrap(IMAGE_FORMS, HELP_WIDTH, ''),
  ].join('\n');
}

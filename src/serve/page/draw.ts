import type { StackBand, StackCell, StackView } from '../../overlay/stack-view.js';
import { h } from './dom.js';
import { layerLabel } from '../../overlay/provenance.js';

const ROLE_TEXT: Record<StackCell['role'], string> = {
  wins: 'the merged view shows this version',
  merged: 'its content merges into the directory the merged view shows',
  shadowed: 'hidden: a layer above has this name, deletes it, or hides the directory',
};

const join = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

function cellLabel(c: StackCell): string {
  if (c.kind === 'whiteout') return `.wh.${c.name}`;
  return c.kind === 'directory' ? `${c.name}/` : c.name;
}

/** A name with line-break opportunities after its dots, dashes and underscores (passwd.|old), for narrow cells. */
function breakable(name: string): Array<string | HTMLElement> {
  return name.split(/(?<=[._-])/).flatMap((part, i) => (i === 0 ? [part] : [h('wbr'), part]));
}

const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

function bandLabel(b: StackBand): HTMLElement {
  const title = b.layer === 'upper' ? 'upper · writable' : `${layerLabel(b.layer)} · read-only`;
  const sub = b.layer === 'upper' ? 'memfs Volume' : b.label.replace(/^sha256:/, '').slice(0, 12);
  // The count names what the layer holds here in every row of the drawing, so a band whose
  // entries are drawn in another row does not look empty.
  const count = b.present ? entries(b.cells.length) : 'not here';
  return h('div', { class: 'band-label' }, h('strong', {}, title), h('span', { class: 'digest' }, sub), h('span', { class: 'count' }, count),
    b.opaque ? h('span', { class: 'badge opaque', title: 'this layer marks the directory opaque (.wh..wh..opq)' }, 'opaque') : undefined);
}

/**
 * The stack for one directory, textbook style: one band per layer, the writable layer on top,
 * one column per name so that a name's versions line up vertically. When the names do not
 * fit the width, the columns wrap: `perRow` names per row, each row a whole stack again (all
 * bands, labels repeated), so every entry is on screen without scrolling sideways.
 */
export function drawStack(view: StackView, selected: string | undefined, select: (path: string) => void, perRow: number): HTMLElement {
  const names = new Set<string>();
  for (const b of view.bands) for (const c of b.cells) names.add(c.name);
  for (const m of view.merged) names.add(m.name);
  const all = [...names].sort();
  const rows: string[][] = [];
  for (let i = 0; i < all.length; i += perRow) rows.push(all.slice(i, i + perRow));
  if (rows.length === 0) rows.push([]);
  const merged = new Map(view.merged.map((m) => [m.name, m]));
  const cellsOf = view.bands.map((b) => new Map(b.cells.map((c) => [c.name, c])));

  const stackRow = (columns: string[], first: number) => {
    const grid = `grid-template-columns: var(--label-width) repeat(${columns.length}, var(--cell-width))`;
    const top = h('div', { class: 'band merged-band', style: grid, 'data-layer': 'merged' },
      h('div', { class: 'band-label' }, h('strong', {}, 'merged view'), h('span', { class: 'count' }, 'what programs see')),
      ...columns.map((name) => {
        const m = merged.get(name);
        if (!m) return h('div', { class: 'slot' });
        const path = join(view.dir, name);
        return h('button', {
          class: 'cell', type: 'button', 'data-name': name, 'data-kind': m.type, 'data-role': 'wins', 'data-selected': selected === path,
          title: `${name}: from ${layerLabel(m.provider)}`, onclick: () => select(path),
        }, h('span', { class: 'name' }, ...breakable(m.type === 'directory' ? `${name}/` : name)),
        h('span', { class: `from from-${m.provider === 'upper' ? 'upper' : 'lower'}` }, layerLabel(m.provider)));
      }));
    const bands = view.bands.map((b, i) => h('div', {
      class: 'band',
      style: grid,
      'data-layer': String(b.layer),
      'data-present': b.present,
      'data-opaque': b.opaque,
      'data-hidden': b.hidden && b.present,
    },
    bandLabel(b),
    ...columns.map((name) => {
      const c = cellsOf[i]!.get(name);
      if (!c) return h('div', { class: 'slot' });
      const path = join(view.dir, name);
      return h('button', {
        class: 'cell',
        type: 'button',
        'data-name': name,
        'data-kind': c.kind,
        'data-role': c.role,
        'data-selected': selected === path,
        title: `${cellLabel(c)} in ${layerLabel(b.layer)}: ${ROLE_TEXT[c.role]}`,
        onclick: () => select(path),
      }, h('span', { class: 'name' }, ...breakable(cellLabel(c))));
    })));
    const caption = rows.length > 1
      ? h('p', { class: 'row-caption' }, `names ${first + 1}–${first + columns.length} of ${all.length}${first + columns.length < all.length ? ', continued below' : ''}`)
      : undefined;
    return h('div', { class: 'stack', 'data-dir': view.dir, 'data-row': first / perRow }, caption, top, ...bands);
  };
  return h('div', { class: 'stack-rows', 'data-dir': view.dir, 'data-rows': rows.length }, ...rows.map((r, i) => stackRow(r, i * perRow)));
}

/** The merged directory, as a program sees it, with the layer each entry comes from. */
export function drawMerged(view: StackView, selected: string | undefined, open: (path: string, isDir: boolean) => void): HTMLElement {
  if (view.merged.length === 0) return h('p', { class: 'empty' }, '(empty directory)');
  return h('ul', { class: 'merged-list' }, ...view.merged.map((m) => {
    const path = join(view.dir, m.name);
    return h('li', { 'data-name': m.name, 'data-type': m.type, 'data-provider': String(m.provider), 'data-selected': selected === path },
      h('button', { type: 'button', onclick: () => open(path, m.type === 'directory') }, m.type === 'directory' ? `${m.name}/` : m.name),
      h('span', { class: `from from-${m.provider === 'upper' ? 'upper' : 'lower'}` }, layerLabel(m.provider)));
  }));
}

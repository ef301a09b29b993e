/**
 * The teaching page: the layerfs engine running in the browser over the image the server
 * sent, drawn as the layer stack textbooks show. Every change stays in this page (reload to
 * start over); the server only hands out the page and the image.
 */
import { OverlayFs, engineOf } from '../../fs/overlay-fs.js';
import type { OverlayEvent } from '../../overlay/engine.js';
import type { StackView } from '../../overlay/stack-view.js';
import type { MemoryLayer } from '../../layer/memory-layer.js';
import { fromPageImage, type PageImage } from '../page-image.js';
import { upperEntries } from '../../overlay/upper-entries.js';
import { $, h } from './dom.js';
import { drawMerged, drawStack } from './draw.js';
import { explainError, narrate } from './narrate.js';
import { layerLabel } from '../../overlay/provenance.js';
import { isReservedName, OPAQUE_MARKER } from '../../oci/oci-names.js';
import { animateEvents } from './animate.js';

interface State {
  layers: MemoryLayer[];
  ov: OverlayFs;
  dir: string;
  selected: string | undefined;
  view: StackView;
  /** What the last call did: marked on the drawing until the next call. */
  lastEvents: OverlayEvent[];
}

let state: State;

function newOverlay(layers: MemoryLayer[], redirectDir: boolean): OverlayFs {
  return new OverlayFs({ lower: layers, redirectDir });
}

function render(animate = false): void {
  const { ov } = state;
  state.view = ov.stackView(state.dir);
  $('#crumbs').replaceChildren(...crumbs(state.dir));
  $('#stack').replaceChildren(drawStack(state.view, state.selected, select, namesPerRow()));
  $('#merged').replaceChildren(drawMerged(state.view, state.selected, open));
  $('#detail').replaceChildren(...detail(state.selected));
  $('#changeset').replaceChildren(...changeset());
  animateEvents($('#stack'), state.view, state.lastEvents, animate);
}

/**
 * How many name columns fit beside the band labels in the stack panel (the widths are the
 * style sheet's --label-width and --cell-width, in rem); at least one.
 */
function namesPerRow(): number {
  const panel = $('#stack');
  const style = getComputedStyle(panel);
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
  const px = (name: string) => parseFloat(style.getPropertyValue(name)) * rem;
  const gap = 4, chrome = 20; // the band's grid gap; its padding and borders, both sides
  return Math.max(1, Math.floor((panel.clientWidth - chrome - px('--label-width')) / (px('--cell-width') + gap)));
}

/** The upper layer as a commit writes it, entry by entry (markers told apart). */
function changeset(): HTMLElement[] {
  return [...upperEntries(engineOf(state.ov))].map((e) => {
    const name = e.path.replace(/\/$/, '').split('/').pop() ?? '';
    const kind = name === OPAQUE_MARKER ? 'opaque' : isReservedName(name) ? 'whiteout' : e.type;
    return h('li', { 'data-kind': kind, 'data-path': e.path }, e.path + (e.type === 'symlink' ? ` -> ${e.linkTarget}` : e.type === 'hardlink' ? ` link to ${e.linkTarget}` : ''));
  });
}

function crumbs(dir: string): HTMLElement[] {
  const parts = dir.split('/').filter(Boolean);
  const out = [h('button', { type: 'button', onclick: () => go('/') }, '/')];
  parts.forEach((p, i) => {
    const to = `/${parts.slice(0, i + 1).join('/')}`;
    out.push(h('button', { type: 'button', onclick: () => go(to) }, `${p}/`));
  });
  return out;
}

function go(dir: string): void {
  state.dir = dir;
  render();
}

function select(path: string): void {
  state.selected = path;
  ($('#path') as HTMLInputElement).value = path;
  render();
}

function open(path: string, isDir: boolean): void {
  if (isDir) state.dir = path;
  select(path);
}

function detail(path: string | undefined): Array<HTMLElement | string> {
  if (!path) return ['Pick an entry in the stack or the merged view.'];
  const { ov } = state;
  const where = ov.whereIs(path);
  const lines: Array<HTMLElement | string> = [h('code', {}, path)];
  if (where.provider === undefined) lines.push(h('p', {}, 'not in the merged view'));
  else {
    const from = where.mergedFrom.length > 1 ? `merged from ${where.mergedFrom.map(layerLabel).join(', ')}` : `from ${layerLabel(where.provider)}`;
    lines.push(h('p', {}, `${where.type}, ${from}`));
  }
  if (where.shadowed.length > 0) lines.push(h('p', {}, `shadows ${where.shadowed.map(layerLabel).join(', ')}`));
  for (const v of where.hiddenBy) lines.push(h('p', {}, `${v.kind === 'whiteout' ? 'whited out' : 'hidden by an opaque directory'} in ${layerLabel(v.layer)}`));
  if (where.type === 'file') {
    const data = ov.readFileSync(path) as Buffer;
    const text = data.subarray(0, 400).toString('utf8');
    const printable = !/[\u0000-\u0008\u000e-\u001f]/.test(text);
    lines.push(h('pre', { class: 'content', tabindex: 0 }, printable ? text + (data.length > 400 ? '…' : '') : `(${data.length} bytes of binary data)`));
  }
  return lines;
}

/** Runs one fs call on the overlay, logs it with what the kernel would have done, redraws. */
function run(call: string, args: unknown[], fn: (ov: OverlayFs) => void): void {
  const events: OverlayEvent[] = [];
  const { ov } = state;
  const listen = (e: OverlayEvent) => events.push(e);
  ov.on('copy-up', listen).on('whiteout', listen).on('opaque', listen);
  const entry = h('li', { class: 'call' }, h('code', {}, `${call}(${args.map((a) => JSON.stringify(a)).join(', ')})`));
  const notes = h('ol', { class: 'notes' });
  try {
    fn(ov);
    if (events.length === 0) notes.append(h('li', { 'data-event': 'none' }, 'only the upper layer changed: nothing to copy up, nothing below to hide'));
  } catch (e) {
    const err = e as { code?: string; message: string };
    notes.append(h('li', { class: 'error', 'data-code': err.code }, err.message, ' ', explainError(err.code, call.replace(/^ov\.|Sync$/g, ''))));
  } finally {
    ov.off('copy-up', listen).off('whiteout', listen).off('opaque', listen);
  }
  for (const e of events) notes.append(h('li', { 'data-event': e.type, 'data-path': e.path }, narrate(e)));
  entry.append(notes);
  $('#log').prepend(entry);
  if (state.selected && !ov.existsSync(state.selected) && !events.some((e) => e.path === state.selected)) state.selected = undefined;
  // The directory on screen may be gone, or be a file now.
  if (!ov.statSync(state.dir, { throwIfNoEntry: false })?.isDirectory()) state.dir = '/';
  state.lastEvents = events;
  render(true);
}

function value(id: string): string {
  return ($(id) as HTMLInputElement | HTMLTextAreaElement).value;
}

function wire(): void {
  const path = () => value('#path').trim();
  $('#write').addEventListener('click', () => run('ov.writeFileSync', [path()], (ov) => ov.writeFileSync(path(), value('#content'))));
  $('#append').addEventListener('click', () => run('ov.appendFileSync', [path()], (ov) => ov.appendFileSync(path(), value('#content'))));
  $('#delete').addEventListener('click', () => run('ov.rmSync', [path(), { recursive: true }], (ov) => ov.rmSync(path(), { recursive: true })));
  $('#mkdir').addEventListener('click', () => run('ov.mkdirSync', [path()], (ov) => ov.mkdirSync(path())));
  $('#rename').addEventListener('click', () => {
    const to = value('#to').trim();
    run('ov.renameSync', [path(), to], (ov) => ov.renameSync(path(), to));
    if (state.ov.existsSync(to)) select(to);
  });
  $('#redirect-dir').addEventListener('change', reset);
  $('#reset').addEventListener('click', reset);
}

function reset(): void {
  const redirectDir = ($('#redirect-dir') as HTMLInputElement).checked;
  state.ov = newOverlay(state.layers, redirectDir);
  state.dir = '/';
  state.selected = undefined;
  state.lastEvents = [];
  $('#log').replaceChildren(h('li', { class: 'call' }, `new Overlay({ lower: [${state.layers.length} layers], redirectDir: ${redirectDir} })`));
  render();
}

async function main(): Promise<void> {
  const response = await fetch('image.json');
  if (!response.ok) throw new Error(`image.json: ${response.status} ${response.statusText}`);
  const image = (await response.json()) as PageImage;
  const layers = fromPageImage(image);
  $('#image-name').textContent = `${image.name} · ${layers.length} read-only layers`;
  state = { layers, ov: newOverlay(layers, false), dir: '/', selected: undefined, view: undefined as never, lastEvents: [] };
  wire();
  reset();
  let perRow = namesPerRow();
  new ResizeObserver(() => {
    if (namesPerRow() !== perRow) (perRow = namesPerRow()), render();
  }).observe($('#stack'));
  document.body.dataset.ready = 'true';
}

main().catch((e: unknown) => {
  $('#status').textContent = `The page could not start: ${(e as Error).message}`;
  document.body.dataset.ready = 'error';
});

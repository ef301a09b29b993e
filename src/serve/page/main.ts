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
import { explainError, hiddenBelow, narrate, OVERLAYFS_DOC, SECTIONS, type Narration } from './narrate.js';
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
  /** The calls made on this overlay, in order. */
  calls: Call[];
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

/** One fs call the visitor made, kept to make it again on a new overlay (see {@link remount}). */
interface Call {
  call: string;
  args: unknown[];
  fn: (ov: OverlayFs) => void;
  /** The error code it failed with, or undefined. */
  failed: string | undefined;
  /** It failed before changing anything: no copy-up, whiteout, marker or redirect. */
  noEffect: boolean;
}

const EVENTS = ['copy-up', 'whiteout', 'opaque', 'redirect'] as const;

/** Runs a call on an overlay, collecting the events it emits in the order they happen. */
function perform(ov: OverlayFs, fn: (ov: OverlayFs) => void): { events: OverlayEvent[]; error: { code?: string; message: string } | undefined } {
  const events: OverlayEvent[] = [];
  const listen = (e: OverlayEvent) => void events.push(e);
  for (const t of EVENTS) ov.on(t, listen);
  try {
    fn(ov);
    return { events, error: undefined };
  } catch (e) {
    return { events, error: e as { code?: string; message: string } };
  } finally {
    for (const t of EVENTS) ov.off(t, listen);
  }
}

/** A narration with its overlayfs.rst citations as links to the kernel document. */
function cite(n: Narration): Array<string | HTMLElement> {
  return n.map((part) => (typeof part === 'string' ? part : h('a', { href: `${OVERLAYFS_DOC}#${part.section}`, target: '_blank', rel: 'noopener' }, `"${SECTIONS[part.section]}"`)));
}

/** Appends a step to the log: numbered in the order the steps happened, the newest on top. */
function logStep(...content: Array<string | HTMLElement>): HTMLElement {
  const log = $('#log');
  const entry = h('li', { class: 'call', value: log.children.length + 1 }, ...content);
  log.prepend(entry);
  return entry;
}

/** Runs one fs call on the overlay, logs it with what the kernel did, step by step, and redraws. */
function run(call: string, args: unknown[], fn: (ov: OverlayFs) => void): void {
  const { ov } = state;
  const { events, error } = perform(ov, fn);
  state.calls.push({ call, args, fn, failed: error?.code ?? (error ? 'error' : undefined), noEffect: error !== undefined && events.length === 0 });
  const notes = h('ol', { class: 'notes' });
  // What the kernel did first comes first: the events, then the error that ended the call.
  for (const e of events) {
    const context = e.type === 'opaque' && e.reason === 'whiteout' ? hiddenBelow(ov, e.path) : {};
    notes.append(h('li', { 'data-event': e.type, 'data-path': e.path }, ...cite(narrate(e, context))));
  }
  if (error) notes.append(h('li', { class: 'error', 'data-code': error.code }, error.message, ' ', ...cite(explainError(error.code, call.replace(/^ov\.|Sync$/g, '')))));
  else if (events.length === 0) notes.append(h('li', { 'data-event': 'none' }, 'only the upper layer changed: nothing to copy up, nothing below to hide'));
  logStep(h('code', {}, callText(call, args)), notes);
  if (state.selected && !ov.existsSync(state.selected) && !events.some((e) => e.path === state.selected)) state.selected = undefined;
  // The directory on screen may be gone, or be a file now.
  if (!ov.statSync(state.dir, { throwIfNoEntry: false })?.isDirectory()) state.dir = '/';
  state.lastEvents = events;
  render(true);
}

const callText = (call: string, args: unknown[]) => `${call}(${args.map((a) => JSON.stringify(a)).join(', ')})`;

function value(id: string): string {
  return ($(id) as HTMLInputElement | HTMLTextAreaElement).value;
}

function wire(): void {
  // Each call takes the form's values when it is made, so that it can be made again as it was.
  const path = () => value('#path').trim();
  $('#write').addEventListener('click', () => {
    const [p, content] = [path(), value('#content')];
    run('ov.writeFileSync', [p], (ov) => ov.writeFileSync(p, content));
  });
  $('#append').addEventListener('click', () => {
    const [p, content] = [path(), value('#content')];
    run('ov.appendFileSync', [p], (ov) => ov.appendFileSync(p, content));
  });
  $('#delete').addEventListener('click', () => {
    const p = path();
    run('ov.rmSync', [p, { recursive: true }], (ov) => ov.rmSync(p, { recursive: true }));
  });
  $('#mkdir').addEventListener('click', () => {
    const p = path();
    run('ov.mkdirSync', [p], (ov) => ov.mkdirSync(p));
  });
  $('#rename').addEventListener('click', () => {
    const [from, to] = [path(), value('#to').trim()];
    run('ov.renameSync', [from, to], (ov) => ov.renameSync(from, to));
    if (state.ov.existsSync(to)) select(to);
  });
  $('#redirect-dir').addEventListener('change', remount);
  $('#reset').addEventListener('click', reset);
}

const redirectDirTicked = () => ($('#redirect-dir') as HTMLInputElement).checked;

/**
 * redirect_dir changed: the changes made so far are made again on a new overlay with the new
 * option. Calls that failed without changing anything are left out (the EXDEV a directory
 * rename gives before redirect_dir is ticked). If any other call ends differently now, the
 * changes cannot be kept as they were: the visitor is asked whether to start over, or to
 * keep the option as it was.
 */
function remount(): void {
  const redirectDir = redirectDirTicked();
  const ov = newOverlay(state.layers, redirectDir);
  const replayed = state.calls.filter((c) => !c.noEffect);
  for (const c of replayed) {
    const { error } = perform(ov, c.fn);
    const now = error?.code ?? (error ? 'error' : undefined);
    if (now === c.failed) continue;
    const how = (code: string | undefined) => (code === undefined ? 'succeeded' : `failed with ${code}`);
    const question = `With redirect_dir=${redirectDir ? 'on' : 'off'}, ${callText(c.call, c.args)} ${how(now)} (it ${how(c.failed)} before), so the changes made so far cannot be kept. Start over with redirect_dir=${redirectDir ? 'on' : 'off'}, discarding them? (Cancel keeps redirect_dir=${redirectDir ? 'off' : 'on'} and the changes.)`;
    if (confirm(question)) reset();
    else ($('#redirect-dir') as HTMLInputElement).checked = !redirectDir;
    return;
  }
  state.ov = ov;
  state.calls = replayed;
  state.lastEvents = [];
  if (!ov.statSync(state.dir, { throwIfNoEntry: false })?.isDirectory()) state.dir = '/';
  if (state.selected && !ov.existsSync(state.selected)) state.selected = undefined;
  logStep(`${overlayText(redirectDir)}: the ${replayed.length === 1 ? 'change' : `${replayed.length} changes`} so far made again on it`,
    replayed.length > 0 ? h('ol', { class: 'notes' }, ...replayed.map((c) => h('li', { 'data-replayed': c.call }, h('code', {}, callText(c.call, c.args))))) : '');
  render();
}

const overlayText = (redirectDir: boolean) => `new Overlay({ lower: [${state.layers.length} layers], redirectDir: ${redirectDir} })`;

function reset(): void {
  const redirectDir = redirectDirTicked();
  state.ov = newOverlay(state.layers, redirectDir);
  state.calls = [];
  state.dir = '/';
  state.selected = undefined;
  state.lastEvents = [];
  $('#log').replaceChildren();
  logStep(overlayText(redirectDir));
  render();
}

async function main(): Promise<void> {
  const response = await fetch('image.json');
  if (!response.ok) throw new Error(`image.json: ${response.status} ${response.statusText}`);
  const image = (await response.json()) as PageImage;
  const layers = fromPageImage(image);
  $('#image-name').textContent = `${image.name} · ${layers.length} read-only layers`;
  state = { layers, ov: newOverlay(layers, false), dir: '/', selected: undefined, view: undefined as never, lastEvents: [], calls: [] };
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

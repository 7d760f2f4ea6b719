// web/app.js: the playground's page. Three layers, each talking only to
// the next:
//   1. the engine: the C library compiled to WebAssembly (mmap_play.js),
//      asked to run a scenario or replay a trace, answering JSON
//      (mmap-play/1, the contract of README's playground section);
//   2. the timeline: the recorded steps, with the machine at any step
//      rebuilt from the deltas, starting at the nearest checkpoint;
//   3. the panels: one render function each, drawing from the state alone
//      (`state` below), so the DOM holds nothing the page reads back.
'use strict';

// ---------------------------------------------------------------- engine

// The engine's one instance, made when the page opens.
const engine = {
  module: null,
  ready: null,

  start() {
    this.ready = createMmapPlay({
      print: () => {},
      printErr: (line) => console.warn(line),
    }).then((module) => { this.module = module; });
    return this.ready;
  },

  // A string into the module's memory, for one call; free it after.
  cString(text) {
    const m = this.module;
    const size = m.lengthBytesUTF8(text) + 1;
    const pointer = m._malloc(size);
    m.stringToUTF8(text, pointer, size);
    return pointer;
  },

  // Calls `fn` with C copies of `strings`, then parses the JSON it returns.
  callJson(fn, strings, numbers) {
    const m = this.module;
    const pointers = strings.map((s) => this.cString(s));
    try {
      const result = fn(...pointers, ...numbers);
      if (!result) throw new Error('the engine returned nothing (out of memory?)');
      const json = m.UTF8ToString(result);
      m._play_wasm_free(result);
      return JSON.parse(json);
    } finally {
      pointers.forEach((p) => m._free(p));
    }
  },

  run(text, name) {
    return this.callJson(this.module._play_wasm_run, [text, name], []);
  },

  replay(trace, policies, from, to) {
    return this.callJson(this.module._play_wasm_replay, [trace, policies], [from, to]);
  },
};

// -------------------------------------------------------------- timeline

// Steps between two full copies of the machine: a step anywhere is then at
// most this many deltas from a copy.
const CHECKPOINT_EVERY = 64;

function emptySnapshot() {
  return { processes: {}, tlb: [], frames: {}, page_cache: {}, swap: {}, counters: {} };
}

// Applies one step's delta to `snapshot`, in place. Records the delta
// names whole are shared with it, never changed; a process record is the
// snapshot's own, since its entries change one by one.
function applyDelta(snapshot, delta) {
  for (const [pid, change] of Object.entries(delta.processes || {})) {
    if (change === null) { delete snapshot.processes[pid]; continue; }
    const process = snapshot.processes[pid] ||
      (snapshot.processes[pid] = { name: '', directory: null, tables: {}, areas: [], entries: {} });
    for (const key of ['name', 'directory', 'tables', 'areas'])
      if (key in change) process[key] = change[key];
    for (const [page, entry] of Object.entries(change.entries || {})) {
      if (entry === null) delete process.entries[page];
      else process.entries[page] = entry;
    }
  }
  for (const key of ['frames', 'page_cache', 'swap'])
    for (const [name, record] of Object.entries(delta[key] || {})) {
      if (record === null) delete snapshot[key][name];
      else snapshot[key][name] = record;
    }
  if (delta.tlb) snapshot.tlb = delta.tlb;
  if (delta.counters) snapshot.counters = delta.counters;
}

// A copy that shares the records no delta changes in place.
function copySnapshot(snapshot) {
  const processes = {};
  for (const [pid, p] of Object.entries(snapshot.processes))
    processes[pid] = { ...p, entries: { ...p.entries } };
  return {
    processes, tlb: snapshot.tlb, frames: { ...snapshot.frames },
    page_cache: { ...snapshot.page_cache }, swap: { ...snapshot.swap },
    counters: snapshot.counters,
  };
}

class Timeline {
  constructor(run) {
    this.steps = run.steps;
    this.checkpoints = [];
    this.counters = []; // each step's counters, to mark what a step changed
    const snapshot = emptySnapshot();
    this.steps.forEach((step, k) => {
      applyDelta(snapshot, step.delta);
      this.counters.push(snapshot.counters);
      if (k % CHECKPOINT_EVERY === 0) this.checkpoints.push(copySnapshot(snapshot));
    });
    this.current = null; // the working copy and its step
    this.currentStep = -1;
  }

  get length() { return this.steps.length; }

  // The machine after step k: one delta from the step before, or the
  // nearest checkpoint at or below k and the deltas after it.
  snapshotAt(k) {
    if (k !== this.currentStep) {
      if (k === this.currentStep + 1 && k % CHECKPOINT_EVERY !== 0) {
        applyDelta(this.current, this.steps[k].delta);
      } else {
        const c = Math.floor(k / CHECKPOINT_EVERY);
        this.current = copySnapshot(this.checkpoints[c]);
        for (let i = c * CHECKPOINT_EVERY + 1; i <= k; i++)
          applyDelta(this.current, this.steps[i].delta);
      }
      this.currentStep = k;
    }
    return this.current;
  }
}

// ----------------------------------------------------------------- state

// Everything the page shows follows from this; controls change it, then
// call render().
const state = {
  scenarioName: '',
  text: '',
  run: null,        // the engine's JSON of the last run
  timeline: null,
  step: 0,
  playing: false,
  large: false,
  status: '',       // a line about the last run
  lab: null,        // the replay's JSON, or null
  labError: '',
  timings: { runMs: null, recordMs: null, redrawMs: null },
};

const PLAY_INTERVAL_MS = 700;
let playTimer = null;

// ------------------------------------------------------------------- svg

// A light stand-in for an SVG element: a panel is built of these, turned
// into markup once and drawn in one assignment. Making thousands of DOM
// nodes one call at a time made a step's redraw slower than the 50 ms the
// page must keep to.
class SvgNode {
  constructor(tag, attributes, text) {
    this.tag = tag;
    this.attributes = attributes;
    this.text = text;
    this.children = [];
  }

  appendChild(child) {
    this.children.push(child);
    return child;
  }

  markup() {
    let out = `<${this.tag}`;
    for (const [name, value] of Object.entries(this.attributes))
      if (value !== null && value !== undefined) out += ` ${name}="${escapeMarkup(value)}"`;
    out += '>';
    if (this.text !== null) out += escapeMarkup(this.text);
    for (const child of this.children) out += child.markup();
    return `${out}</${this.tag}>`;
  }
}

const MARKUP_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

function escapeMarkup(value) {
  return String(value).replace(/[&<>"]/g, (c) => MARKUP_ESCAPES[c]);
}

function svgElement(tag, attributes = {}, text = null) {
  return new SvgNode(tag, attributes, text);
}

// Replaces what `svg` shows with `nodes`.
function drawSvg(svg, nodes) {
  svg.innerHTML = nodes.map((node) => node.markup()).join('');
}

function clear(element) {
  while (element.firstChild) element.removeChild(element.firstChild);
}

function htmlElement(tag, attributes = {}, text = null) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes))
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

// Sets an SVG's drawn size from its coordinates' size: larger in large
// type, where the page is read from the back of a room.
function sizeSvg(svg, x, y, width, height) {
  const scale = state.large ? 1.4 : 1;
  svg.setAttribute('viewBox', `${x} ${y} ${width} ${height}`);
  svg.setAttribute('width', Math.ceil(width * scale));
  svg.setAttribute('height', Math.ceil(height * scale));
}

// Owners, each with a colour and a short label, so colour is never the
// only sign.
const OWNERS = {
  'page cache': { colour: '#9ecae1', label: 'cache' },
  'anonymous': { colour: '#a1d99b', label: 'anon' },
  'copy': { colour: '#fdae6b', label: 'copy' },
  'page table': { colour: '#d9d9d9', label: 'table' },
  'page directory': { colour: '#969696', label: 'dir' },
  'other': { colour: '#bcbddc', label: 'other' },
};
const PROCESS_COLOURS = ['#3182bd', '#e6550d', '#31a354', '#756bb1', '#636363', '#d6616b', '#8c6d31', '#17becf'];

function ownerOf(frame) {
  return OWNERS[frame.owner] || OWNERS.other;
}

function processColour(pid) {
  return PROCESS_COLOURS[Number(pid) % PROCESS_COLOURS.length];
}

function byAddress(a, b) {
  return parseInt(a, 16) - parseInt(b, 16);
}

function byNumber(a, b) {
  return Number(a) - Number(b);
}

function entryBits(entry) {
  if (!entry.present) {
    if (entry.swapped) return `swap slot ${entry.slot}`;
    // Read ahead into a frame, not mapped until its first touch.
    return entry.cached ? `read ahead, frame ${entry.frame}` : 'not present';
  }
  return ['P', entry.writable ? 'W' : '-', entry.dirty ? 'D' : '-', entry.accessed ? 'A' : '-']
    .join('') + (entry.cow ? ' COW' : '');
}

function frameLabel(number, frame) {
  const owner = ownerOf(frame);
  let what = owner.label;
  if (frame.owner === 'page cache' && frame.file !== null) what = `${frame.file}:${frame.page}`;
  return `${number} ${what}${frame.dirty ? ' D' : ''}`;
}

// ---------------------------------------------------------------- panels

const ROW = 24;        // one entry or frame
const COLUMN = 230;    // one process's entries
const GAP = 70;        // between columns, where the arrows run
const FRAME_WIDTH = 170;

function renderLegend() {
  const legend = document.getElementById('legend');
  clear(legend);
  for (const [owner, { colour }] of Object.entries(OWNERS)) {
    const item = htmlElement('span', { class: 'legend-item' });
    item.appendChild(htmlElement('span', { class: 'swatch', style: `background:${colour}` }));
    item.appendChild(document.createTextNode(owner));
    legend.appendChild(item);
  }
}

// Keyed drawing, for the pictures redrawn at every step: each item is a
// node drawn at (x, y) under a key, and an item whose markup is the same
// as at the last redraw keeps its element, only moved. A step changes a
// few entries, frames and slots; redrawing only those keeps a redraw of a
// large machine well under 50 ms (README gives the figures). The cache is
// the drawing's own, never read as the page's state.
const drawnItems = new WeakMap(); // layer -> Map(key -> {markup, element, at})
const parser = document.createElementNS('http://www.w3.org/2000/svg', 'g');

function drawKeyed(layer, items) {
  let cache = drawnItems.get(layer);
  if (!cache) drawnItems.set(layer, (cache = new Map()));
  const wanted = new Set();
  for (const { key, x, y, node } of items) {
    wanted.add(key);
    const markup = node.markup();
    const at = `translate(${x},${y})`;
    let drawn = cache.get(key);
    if (!drawn || drawn.markup !== markup) {
      parser.innerHTML = markup;
      const element = parser.firstChild;
      if (drawn) layer.replaceChild(element, drawn.element);
      else layer.appendChild(element);
      drawn = { markup, element, at: null };
      cache.set(key, drawn);
    }
    if (drawn.at !== at) {
      drawn.element.setAttribute('transform', at);
      drawn.at = at;
    }
  }
  for (const [key, drawn] of cache)
    if (!wanted.has(key)) {
      drawn.element.remove();
      cache.delete(key);
    }
}

// The layers of an SVG, made on its first drawing, in the order given
// (the first drawn underneath).
function layersOf(svg, names) {
  if (svg.childElementCount !== names.length)
    drawSvg(svg, names.map((name) => svgElement('g', { class: `layer ${name}` })));
  return names.map((name, i) => svg.children[i]);
}

// The processes' entries in columns, the frames in use in a column
// between the first half of the processes and the second (so that a
// fork's parent and child face each other across their frames), an arrow
// from each present entry to its frame, and the whole pool as a strip
// above.
function renderMemory(snapshot, run) {
  const svg = document.getElementById('memory-svg');
  // Arrows over the boxes: an arrow from a column beyond another crosses
  // that column's rows, and is followed more easily on top of them.
  const [defsLayer, boxLayer, arrowLayer] = layersOf(svg, ['defs', 'boxes', 'arrows']);
  const pids = Object.keys(snapshot.processes).sort(byNumber);
  const frameNumbers = Object.keys(snapshot.frames).sort(byNumber);
  const leftCount = Math.ceil(pids.length / 2);
  const framesX = leftCount * (COLUMN + GAP);
  const columnX = (i) => (i < leftCount ? i * (COLUMN + GAP) : framesX + FRAME_WIDTH + GAP + (i - leftCount) * (COLUMN + GAP));
  const width = Math.max(columnX(pids.length - 1) + COLUMN, framesX + FRAME_WIDTH);
  const boxes = [], arrows = [];
  const pool = poolStrip(snapshot, run ? run.frames : frameNumbers.length, width);
  boxes.push({ key: 'pool', x: 0, y: 0, node: pool.node });
  const top = pool.height + 48;
  const framesY = {};
  frameNumbers.forEach((n, i) => { framesY[n] = top + i * ROW; });
  let height = top + frameNumbers.length * ROW;
  pids.forEach((pid, column) => {
    const rows = processItems(boxes, arrows, snapshot.processes[pid], pid, columnX(column), top,
      column < leftCount, framesX, framesY);
    height = Math.max(height, top + rows * ROW);
  });
  frameItems(boxes, snapshot, frameNumbers, framesX, framesY, top);
  drawKeyed(defsLayer, [{ key: 'arrowhead', x: 0, y: 0, node: arrowhead() }]);
  drawKeyed(arrowLayer, arrows);
  drawKeyed(boxLayer, boxes);
  sizeSvg(svg, -4, 0, width + 8, height + 10);
}

function arrowhead() {
  const marker = svgElement('marker', {
    id: 'arrowhead', viewBox: '0 0 10 10', refX: 10, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse',
  });
  marker.appendChild(svgElement('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
  return marker;
}

// One process's column: a heading, then a row per entry, each with its
// arrow; returns the number of rows.
function processItems(boxes, arrows, process, pid, x, top, leftOfFrames, framesX, framesY) {
  const colour = processColour(pid);
  const heading = svgElement('g', { class: 'process-heading' });
  heading.appendChild(svgElement('text', { x: 0, y: 0, class: 'heading', fill: colour },
    `${process.name || '?'} (pid ${pid})`));
  const tables = Object.entries(process.tables || {}).map(([i, f]) => `${i}:${f}`).join(' ');
  heading.appendChild(svgElement('text', { x: 0, y: 16, class: 'small' },
    `directory ${process.directory}${tables ? ', tables ' + tables : ''}`));
  boxes.push({ key: `heading ${pid}`, x, y: top - 22, node: heading });
  const pages = Object.keys(process.entries).sort(byAddress);
  pages.forEach((page, row) => {
    const entry = process.entries[page];
    const y = top + row * ROW;
    const group = svgElement('g', {
      class: 'entry', 'data-pid': pid, 'data-page': page,
      'data-frame': entry.frame === null ? '' : entry.frame,
      'data-present': entry.present, 'data-writable': entry.writable,
      'data-dirty': entry.dirty, 'data-cow': entry.cow,
      'data-swapped': entry.swapped, 'data-slot': entry.slot === null ? '' : entry.slot,
      'data-cached': Boolean(entry.cached),
    });
    group.appendChild(svgElement('rect', {
      x: 0, y: 2, width: COLUMN, height: ROW - 4, rx: 3,
      class: entry.present ? 'entry-box' : 'entry-box absent', stroke: colour,
    }));
    const target = entry.present ? `→ ${entry.frame}` : '';
    group.appendChild(svgElement('text', { x: 6, y: ROW - 8 }, `${page} ${target} ${entryBits(entry)}`));
    group.appendChild(svgElement('title', {}, `${process.name} ${page}: ` +
      (entry.present ? `frame ${entry.frame}, ${entryBits(entry)}` : entryBits(entry))));
    boxes.push({ key: `entry ${pid} ${page}`, x, y, node: group });
    if (!entry.present || entry.frame === null || framesY[entry.frame] === undefined) return;
    const x1 = leftOfFrames ? x + COLUMN : x, y1 = y + ROW / 2;
    const x2 = leftOfFrames ? framesX : framesX + FRAME_WIDTH, y2 = framesY[entry.frame] + ROW / 2;
    const bend = (x2 - x1) / 2 || 40;
    arrows.push({ key: `arrow ${pid} ${page}`, x: 0, y: 0, node: svgElement('path', {
      d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      class: entry.cow ? 'arrow cow' : 'arrow', stroke: colour,
      'marker-end': 'url(#arrowhead)',
      'data-pid': pid, 'data-page': page, 'data-frame': entry.frame,
    }) });
  });
  return pages.length;
}

function frameItems(boxes, snapshot, frameNumbers, framesX, framesY, top) {
  boxes.push({ key: 'frames heading', x: framesX, y: top - 6,
    node: svgElement('text', { x: 0, y: 0, class: 'heading' }, 'frames in use') });
  frameNumbers.forEach((n) => {
    const frame = snapshot.frames[n];
    const group = svgElement('g', {
      class: 'frame', 'data-frame': n, 'data-owner': frame.owner,
      'data-file': frame.file === null ? '' : frame.file,
      'data-page': frame.page === null ? '' : frame.page,
      'data-dirty': frame.dirty,
      'data-mappers': frame.mappers.map((m) => `${m.pid}:${m.page}`).join(' '),
    });
    group.appendChild(svgElement('rect', {
      x: 0, y: 2, width: FRAME_WIDTH, height: ROW - 4, rx: 3,
      fill: ownerOf(frame).colour, class: 'frame-box',
    }));
    group.appendChild(svgElement('text', { x: 6, y: ROW - 8 },
      frameLabel(n, frame) + (frame.mappers.length > 1 ? ` ×${frame.mappers.length}` : '')));
    group.appendChild(svgElement('title', {}, `frame ${n}: ${frame.owner}` +
      (frame.mappers.length ? `, mapped by ${frame.mappers.map((m) => `pid ${m.pid} at ${m.page}`).join(', ')}` : '')));
    boxes.push({ key: `frame ${n}`, x: framesX, y: framesY[n], node: group });
  });
}

// The whole pool, one small square per frame, free ones white, in rows
// as wide as the picture: its node and its height.
function poolStrip(snapshot, total, width) {
  const perRow = Math.max(1, Math.min(total, Math.floor(width / 8)));
  const size = Math.max(6, Math.min(14, Math.floor(width / perRow)));
  const strip = svgElement('g', { class: 'pool', 'data-total': total });
  strip.appendChild(svgElement('text', { x: 0, y: 12, class: 'small' },
    `the pool: ${total} frames, ${total - Object.keys(snapshot.frames).length} free`));
  for (let n = 1; n <= total; n++) {
    const frame = snapshot.frames[n];
    strip.appendChild(svgElement('rect', {
      x: ((n - 1) % perRow) * size, y: 18 + Math.floor((n - 1) / perRow) * size,
      width: size - 1, height: size - 1, 'data-frame': n,
      fill: frame ? ownerOf(frame).colour : '#ffffff', class: 'pool-frame',
    }));
  }
  return { node: strip, height: 18 + Math.ceil(total / perRow) * size };
}

// A table drawn as SVG: columns of fixed widths (in characters, so that a
// row's drawing does not change when another row's does), a row per item
// keyed by `row.key`.
const CHARACTER = 8;

function renderTable(svg, columns, rows) {
  const [layer] = layersOf(svg, ['rows']);
  const widths = columns.map((c) => c.width * CHARACTER + 16);
  const width = widths.reduce((a, b) => a + b, 0);
  const items = [];
  let x = 0;
  columns.forEach((c, i) => {
    items.push({ key: `heading ${i}`, x, y: 16, node: svgElement('text', { x: 4, y: 0, class: 'heading' }, c.heading) });
    x += widths[i];
  });
  rows.forEach((row, r) => {
    const group = svgElement('g', row.attributes);
    group.appendChild(svgElement('rect', { x: 0, y: 0, width, height: ROW - 2, class: 'table-row' }));
    let cx = 0;
    row.cells.forEach((cell, i) => {
      group.appendChild(svgElement('text', { x: cx + 4, y: ROW - 8 }, cell));
      cx += widths[i];
    });
    items.push({ key: `row ${row.key}`, x: 0, y: 22 + r * ROW, node: group });
  });
  if (rows.length === 0)
    items.push({ key: 'empty', x: 4, y: 40, node: svgElement('text', { x: 0, y: 0, class: 'small' }, '(empty)') });
  drawKeyed(layer, items);
  sizeSvg(svg, 0, 0, width + 2, 26 + Math.max(rows.length, 1) * ROW);
}

function renderTlb(snapshot) {
  const name = (pid) => (snapshot.processes[pid] ? snapshot.processes[pid].name : '?');
  renderTable(document.getElementById('tlb-svg'), [
    { heading: 'process', width: 12 }, { heading: 'page', width: 11 },
    { heading: 'frame', width: 6 }, { heading: 'writable', width: 8 },
  ], snapshot.tlb.map((t, i) => ({
    key: `${i}`,
    cells: [`${name(t.pid)} (${t.pid})`, t.page, t.frame, t.writable ? 'yes' : 'no'],
    attributes: { class: 'tlb-entry', 'data-pid': t.pid, 'data-page': t.page, 'data-frame': t.frame, 'data-writable': t.writable },
  })));
}

function renderCacheAndSwap(snapshot) {
  const keys = Object.keys(snapshot.page_cache).sort();
  renderTable(document.getElementById('cache-svg'), [
    { heading: 'file:page', width: 24 }, { heading: 'frame', width: 6 }, { heading: 'state', width: 6 },
  ], keys.map((k) => {
    const c = snapshot.page_cache[k];
    return {
      key: k, cells: [k, c.frame, c.dirty ? 'dirty' : 'clean'],
      attributes: { class: 'cache-page', 'data-file': c.file, 'data-page': c.page, 'data-frame': c.frame, 'data-dirty': c.dirty },
    };
  }));
  const slots = Object.keys(snapshot.swap).sort(byNumber);
  renderTable(document.getElementById('swap-svg'), [
    { heading: 'swap slot', width: 9 }, { heading: 'references', width: 10 }, { heading: 'entries (pid:page)', width: 36 },
  ], slots.map((slot) => {
    const w = snapshot.swap[slot], mappers = w.mappers.map((m) => `${m.pid}:${m.page}`).join(' ');
    return {
      key: slot, cells: [slot, w.refs, mappers],
      attributes: { class: 'swap-slot', 'data-slot': slot, 'data-refs': w.refs, 'data-mappers': mappers },
    };
  }));
}

const COUNTER_NAMES = {
  tlb_hits: 'TLB hits', tlb_misses: 'TLB misses', page_faults: 'page faults',
  major_faults: 'major faults', minor_faults: 'minor faults', cow_faults: 'copy-on-write faults',
  evictions: 'evictions', write_backs: 'write-backs', swap_outs: 'swap-outs', swap_ins: 'swap-ins',
  segmentation_faults: 'segmentation faults', bus_errors: 'bus errors',
};

function renderCounters(timeline, k) {
  const table = document.getElementById('counters');
  clear(table);
  const now = timeline.counters[k] || {};
  const before = k > 0 ? timeline.counters[k - 1] : now;
  for (const key of Object.keys(now)) {
    const label = COUNTER_NAMES[key] || key.replace(/_/g, ' ');
    const changed = k > 0 && now[key] !== before[key];
    const row = htmlElement('tr', { class: changed ? 'changed' : null, 'data-counter': key, 'data-value': now[key] });
    row.appendChild(htmlElement('th', { scope: 'row' }, label));
    row.appendChild(htmlElement('td', {}, String(now[key]) + (changed ? ` (+${now[key] - before[key]})` : '')));
    table.appendChild(row);
  }
}

function renderStep(step) {
  const statement = document.getElementById('statement');
  clear(statement);
  if (step.index > 0)
    statement.appendChild(htmlElement('code', { class: 'source' }, `line ${step.line}: ${step.source}`));
  statement.appendChild(htmlElement('p', { class: `outcome ${step.outcome.kind}`, 'data-kind': step.outcome.kind }, step.outcome.text));
  const list = document.getElementById('events');
  clear(list);
  step.events.forEach((event) => {
    const item = htmlElement('li', {
      class: `event ${event.kind}`, 'data-kind': event.kind,
      'data-frame': event.frame === null ? '' : event.frame, 'data-slot': event.slot === null ? '' : event.slot,
    });
    item.appendChild(htmlElement('span', { class: 'kind' }, event.kind.replace(/_/g, ' ')));
    item.appendChild(document.createTextNode(' ' + event.text));
    item.appendChild(htmlElement('span', { class: 'rule' }, `rule: ${event.rule}`));
    list.appendChild(item);
  });
  if (step.events.length === 0)
    list.appendChild(htmlElement('li', { class: 'none' }, 'no event'));
}

function renderControls() {
  const last = state.timeline ? state.timeline.length - 1 : 0;
  const slider = document.getElementById('step-slider');
  slider.max = last;
  slider.value = state.step;
  document.getElementById('step-label').textContent =
    state.timeline ? `${state.step} of ${last}` : 'no run yet';
  for (const id of ['first', 'back']) document.getElementById(id).disabled = !state.timeline || state.step === 0;
  for (const id of ['forward', 'last']) document.getElementById(id).disabled = !state.timeline || state.step === last;
  const play = document.getElementById('play');
  play.disabled = !state.timeline || last === 0;
  play.textContent = state.playing ? '⏸ Pause' : '▶ Play';
  play.setAttribute('aria-pressed', state.playing);
  document.body.classList.toggle('large', state.large);
  document.getElementById('large-type').setAttribute('aria-pressed', state.large);
  document.getElementById('run-status').textContent = state.status;
  const pick = document.getElementById('scenario-pick');
  if (pick.value !== state.scenarioName) pick.value = state.scenarioName;
}

function renderError() {
  const notes = document.getElementById('run-notes');
  clear(notes);
  const runNotes = (state.run && state.run.notes) || [];
  notes.hidden = runNotes.length === 0;
  for (const note of runNotes) notes.appendChild(htmlElement('p', {}, note));
  const box = document.getElementById('scenario-error');
  clear(box);
  const run = state.run;
  box.hidden = !run || run.ok;
  if (box.hidden) return;
  const { line, column, message } = run.error;
  box.appendChild(htmlElement('p', { 'data-line': line, 'data-column': column },
    `Line ${line}, column ${column}: ${message}`));
  const source = state.text.split('\n')[line - 1];
  if (source !== undefined)
    box.appendChild(htmlElement('pre', {}, `${source}\n${' '.repeat(Math.max(column - 1, 0))}^`));
}

// Faults against frames, one curve per policy, Belady's anomaly marked.
function renderLab() {
  const svg = document.getElementById('lab-svg');
  const root = svgElement('g');
  const error = document.getElementById('lab-error');
  error.hidden = !state.labError;
  error.textContent = state.labError;
  const rows = state.lab;
  if (!rows || rows.length === 0) { drawSvg(svg, []); return; }
  let anomalies = 0;
  const labels = new Map(); // one label for the anomalies at one point
  const width = 600, height = 300, left = 50, bottom = 40, top = 20, right = 160;
  const frames = rows.map((r) => r.frames), faults = rows.map((r) => r.faults);
  const fMin = Math.min(...frames), fMax = Math.max(...frames), yMax = Math.max(...faults, 1);
  const x = (f) => left + (fMax === fMin ? 0 : (f - fMin) / (fMax - fMin)) * (width - left - right);
  const yAt = (v) => top + (1 - v / yMax) * (height - top - bottom);
  const y = yAt;
  root.appendChild(svgElement('line', { x1: left, y1: y(0), x2: width - right, y2: y(0), class: 'axis' }));
  root.appendChild(svgElement('line', { x1: left, y1: top, x2: left, y2: y(0), class: 'axis' }));
  for (let f = fMin; f <= fMax; f++)
    root.appendChild(svgElement('text', { x: x(f), y: y(0) + 18, class: 'small', 'text-anchor': 'middle' }, f));
  root.appendChild(svgElement('text', { x: (left + width - right) / 2, y: height - 4, class: 'small', 'text-anchor': 'middle' }, 'frames'));
  for (const v of [0, Math.round(yMax / 2), yMax])
    root.appendChild(svgElement('text', { x: left - 8, y: y(v) + 4, class: 'small', 'text-anchor': 'end' }, v));
  root.appendChild(svgElement('text', { x: 4, y: top - 6, class: 'small' }, 'faults'));
  const policies = [...new Set(rows.map((r) => r.policy))];
  policies.forEach((policy, i) => {
    const colour = PROCESS_COLOURS[i % PROCESS_COLOURS.length];
    const points = rows.filter((r) => r.policy === policy).sort((a, b) => a.frames - b.frames);
    // Curves that coincide are drawn a little apart, so none hides another.
    const shift = (i - (policies.length - 1) / 2) * 3;
    const y = (v) => yAt(v) + shift;
    const curve = svgElement('g', { class: 'curve', 'data-policy': policy });
    curve.appendChild(svgElement('polyline', {
      points: points.map((r) => `${x(r.frames)},${y(r.faults)}`).join(' '), stroke: colour, class: 'curve-line',
    }));
    points.forEach((r, j) => {
      const anomaly = r.belady || (j > 0 && r.faults > points[j - 1].faults);
      if (anomaly) {
        anomalies++;
        const where = `${r.frames} ${r.faults}`;
        const label = labels.get(where) || { x: x(r.frames), y: yAt(r.faults), text: [] };
        label.text.push(`${policy} ${points[j - 1] ? points[j - 1].faults : '?'} → ${r.faults}`);
        labels.set(where, label);
      }
      curve.appendChild(svgElement('circle', {
        cx: x(r.frames), cy: y(r.faults), r: anomaly ? 7 : 4, fill: anomaly ? '#d62728' : colour,
        class: anomaly ? 'point belady' : 'point', 'data-frames': r.frames, 'data-faults': r.faults,
      })).appendChild(svgElement('title', {}, `${policy}, ${r.frames} frames: ${r.faults} faults of ${r.references}` +
        (anomaly ? ": Belady's anomaly, more faults with more frames" : '')));
    });
    root.appendChild(curve);
    root.appendChild(svgElement('text', { x: width - right + 12, y: top + 16 + i * 20, fill: colour, class: 'heading' }, policy));
  });
  for (const label of labels.values())
    root.appendChild(svgElement('text', { x: label.x + 10, y: label.y - 12, class: 'belady-label' },
      `${label.text.join(', ')} faults`));
  if (anomalies > 0)
    root.appendChild(svgElement('text', { x: width - right + 12, y: top + 24 + policies.length * 20, class: 'belady-label' },
      "● Belady's anomaly"));
  drawSvg(svg, [root]);
  sizeSvg(svg, 0, 0, width, height);
}

// Draws everything from the state.
function render() {
  renderControls();
  renderError();
  renderLab();
  if (!state.timeline || state.timeline.length === 0) return;
  const snapshot = state.timeline.snapshotAt(state.step);
  renderStep(state.timeline.steps[state.step]);
  renderCounters(state.timeline, state.step);
  renderMemory(snapshot, state.run);
  renderTlb(snapshot);
  renderCacheAndSwap(snapshot);
}

// --------------------------------------------------------------- actions

// Takes a run's JSON (the engine's, or a fixture's) as the page's run.
function loadRun(run) {
  const started = performance.now();
  state.run = run;
  state.timeline = run.ok ? new Timeline(run) : null;
  state.step = 0;
  state.timings.recordMs = performance.now() - started;
  setPlaying(false);
}

function runScenario() {
  state.text = document.getElementById('scenario-text').value;
  const started = performance.now();
  let run;
  try {
    run = engine.run(state.text, state.scenarioName || 'scratch');
  } catch (error) {
    state.status = `The engine failed: ${error.message}`;
    render();
    return;
  }
  const ran = performance.now();
  if (!Array.isArray(run.steps)) {
    state.status = `The engine could not run it: ${run.error}`;
    render();
    return;
  }
  loadRun(run);
  state.timings.runMs = performance.now() - started;
  state.status = run.ok
    ? `${run.steps.length - 1} statements run and recorded in ${Math.round(state.timings.runMs)} ms (${run.frames} frames, ${run.policy}).`
    : 'The scenario has an error: nothing was run.';
  state.timings.engineMs = ran - started;
  render();
  if (!run.ok) selectErrorInEditor(run.error);
}

// Puts the editor's caret where the scenario's error is.
function selectErrorInEditor({ line, column }) {
  const editor = document.getElementById('scenario-text');
  const lines = state.text.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset = Math.min(offset + Math.max(column - 1, 0), state.text.length);
  editor.focus();
  editor.setSelectionRange(offset, Math.min(offset + 1, state.text.length));
}

function goTo(k) {
  if (!state.timeline) return;
  state.step = Math.max(0, Math.min(k, state.timeline.length - 1));
  const started = performance.now();
  render();
  state.timings.redrawMs = performance.now() - started;
}

function setPlaying(playing) {
  state.playing = playing;
  clearInterval(playTimer);
  playTimer = null;
  if (playing)
    playTimer = setInterval(() => {
      if (!state.timeline || state.step >= state.timeline.length - 1) { setPlaying(false); render(); return; }
      goTo(state.step + 1);
    }, PLAY_INTERVAL_MS);
}

function pickScenario(name) {
  const scenario = (window.MMAP_SCENARIOS || []).find((s) => s.name === name);
  if (!scenario) return;
  state.scenarioName = name;
  document.getElementById('scenario-text').value = scenario.text;
  runScenario();
}

function runLab() {
  const trace = document.getElementById('lab-trace').value;
  const policies = document.getElementById('lab-policies').value.replace(/\s+/g, '');
  const from = Number(document.getElementById('lab-from').value);
  const to = Number(document.getElementById('lab-to').value);
  state.labError = '';
  state.lab = null;
  try {
    const answer = engine.replay(trace, policies, from, to);
    if (Array.isArray(answer)) state.lab = answer;
    else state.labError = answer.error ? (answer.error.message || String(answer.error)) : 'the replay answered no runs';
  } catch (error) {
    state.labError = `The replay failed: ${error.message}`;
  }
  render();
}

// ----------------------------------------------------------------- start

function wireControls() {
  const pick = document.getElementById('scenario-pick');
  pick.appendChild(htmlElement('option', { value: '' }, '(choose a scenario)'));
  for (const s of window.MMAP_SCENARIOS || []) pick.appendChild(htmlElement('option', { value: s.name }, s.name));
  pick.addEventListener('change', () => pickScenario(pick.value));
  document.getElementById('run').addEventListener('click', runScenario);
  // An edited scenario is no longer the shipped one it started from.
  document.getElementById('scenario-text').addEventListener('input', () => {
    if (state.scenarioName) { state.scenarioName = ''; renderControls(); }
  });
  document.getElementById('scenario-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); runScenario(); }
  });
  document.getElementById('first').addEventListener('click', () => goTo(0));
  document.getElementById('back').addEventListener('click', () => goTo(state.step - 1));
  document.getElementById('forward').addEventListener('click', () => goTo(state.step + 1));
  document.getElementById('last').addEventListener('click', () => goTo(Infinity));
  document.getElementById('play').addEventListener('click', () => {
    if (!state.playing && state.timeline && state.step >= state.timeline.length - 1) state.step = 0;
    setPlaying(!state.playing);
    render();
  });
  document.getElementById('step-slider').addEventListener('input', (e) => goTo(Number(e.target.value)));
  document.getElementById('large-type').addEventListener('click', () => { state.large = !state.large; render(); });
  document.getElementById('lab-run').addEventListener('click', runLab);
  document.addEventListener('keydown', (e) => {
    if (['TEXTAREA', 'INPUT', 'SELECT'].includes(e.target.tagName)) return;
    const keys = { ArrowLeft: () => goTo(state.step - 1), ArrowRight: () => goTo(state.step + 1),
      Home: () => goTo(0), End: () => goTo(Infinity),
      ' ': () => document.getElementById('play').click() };
    if (e.key === ' ' && e.target.tagName === 'BUTTON') return; // the button's own click
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
}

// The page's handle for its browser test and for curious students at the
// console: the state, and the actions the buttons take.
window.playground = { state, engine, loadRun, runScenario, pickScenario, goTo, runLab, render, Timeline };

wireControls();
renderLegend();
document.getElementById('lab-trace').value = "# Belady's reference string: FIFO faults more with 4 frames than with 3\n1,2,3,4,1,2,5,1,2,3,4,5\n";
render();
engine.start().then(() => {
  state.status = 'The simulator is loaded: pick a scenario or write one.';
  runLab();
  const first = (window.MMAP_SCENARIOS || [])[0];
  if (first) pickScenario(first.name);
  else render();
}, (error) => {
  state.status = `The simulator could not be loaded: ${error}`;
  render();
});

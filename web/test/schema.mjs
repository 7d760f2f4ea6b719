// web/test/replay_json.mjs: what the browser test and the page's own
// timeline both need, written again here from the schema alone so the
// test does not check the page against itself: the machine at step k,
// rebuilt from step 0's delta and every delta after it (mmap-play/1).

export function snapshotAt(run, k) {
  const s = { processes: {}, tlb: [], frames: {}, page_cache: {}, swap: {}, counters: {} };
  for (let i = 0; i <= k; i++) {
    const d = run.steps[i].delta;
    for (const [pid, change] of Object.entries(d.processes || {})) {
      if (change === null) { delete s.processes[pid]; continue; }
      const p = s.processes[pid] ||= { name: '', directory: null, tables: {}, areas: [], entries: {} };
      for (const key of ['name', 'directory', 'tables', 'areas']) if (key in change) p[key] = change[key];
      for (const [page, entry] of Object.entries(change.entries || {})) {
        if (entry === null) delete p.entries[page]; else p.entries[page] = entry;
      }
    }
    for (const key of ['frames', 'page_cache', 'swap'])
      for (const [name, record] of Object.entries(d[key] || {})) {
        if (record === null) delete s[key][name]; else s[key][name] = record;
      }
    if (d.tlb) s.tlb = d.tlb;
    if (d.counters) s.counters = d.counters;
  }
  return s;
}

const text = (v) => (v === null || v === undefined ? '' : String(v));
const mappers = (list) => list.map((m) => `${m.pid}:${m.page}`).join(' ');

// What the page must draw for snapshot `s`, in the shape the browser test
// reads from the data-* attributes of the page's SVG.
export function expectedDrawing(s) {
  const entries = [], arrows = [];
  for (const [pid, p] of Object.entries(s.processes))
    for (const [page, e] of Object.entries(p.entries)) {
      entries.push([pid, page, text(e.frame), text(e.present), text(e.writable), text(e.dirty),
        text(e.cow), text(e.swapped), text(e.slot), text(Boolean(e.cached))].join('|'));
      if (e.present && e.frame !== null && s.frames[e.frame]) arrows.push(`${pid}|${page}|${e.frame}`);
    }
  return {
    entries: entries.sort(),
    arrows: arrows.sort(),
    frames: Object.entries(s.frames).map(([n, f]) => [n, f.owner, mappers(f.mappers)].join('|')).sort(),
    tlb: s.tlb.map((t) => [t.pid, t.page, t.frame, text(t.writable)].join('|')).sort(),
    cache: Object.values(s.page_cache).map((c) => [c.file, c.page, c.frame, text(c.dirty)].join('|')).sort(),
    swap: Object.entries(s.swap).map(([slot, w]) => [slot, w.refs, mappers(w.mappers)].join('|')).sort(),
    counters: Object.entries(s.counters).map(([k, v]) => `${k}|${v}`).sort(),
  };
}

// The same shape, read from the page (run inside the browser).
export function drawnInPage() {
  const all = (selector, f) => [...document.querySelectorAll(selector)].map((e) => f(e.dataset)).sort();
  return {
    entries: all('#memory-svg g.entry', (d) => [d.pid, d.page, d.frame, d.present, d.writable, d.dirty,
      d.cow, d.swapped, d.slot, d.cached].join('|')),
    arrows: all('#memory-svg path.arrow', (d) => `${d.pid}|${d.page}|${d.frame}`),
    frames: all('#memory-svg g.frame', (d) => [d.frame, d.owner, d.mappers].join('|')),
    tlb: all('#tlb-svg g.tlb-entry', (d) => [d.pid, d.page, d.frame, d.writable].join('|')),
    cache: all('#cache-svg g.cache-page', (d) => [d.file, d.page, d.frame, d.dirty].join('|')),
    swap: all('#swap-svg g.swap-slot', (d) => [d.slot, d.refs, d.mappers].join('|')),
    counters: all('#counters tr', (d) => `${d.counter}|${d.value}`),
  };
}

// The first difference between two values, as a path, or null.
export function firstDifference(a, b, path = '') {
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object')
    return a === b ? null : `${path || '(top)'}: ${JSON.stringify(a)} against ${JSON.stringify(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: an array against an object`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const difference = firstDifference(a[key], b[key], `${path}.${key}`);
    if (difference) return difference;
  }
  return null;
}

// ordo's visualizer: a single-page app over the HTTP API (/v1/...). No
// build step: plain modern JavaScript; the graph layout is dagre's.
'use strict';

const STATUSES = ['running', 'waiting', 'review', 'deferred', 'completed', 'failed', 'cancelled'];
const STEP_STATUSES = ['pending', 'running', 'retrying', 'waiting', 'succeeded', 'failed', 'review', 'skipped',
  'deferred', 'compensating', 'compensated'];
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const MOVING = new Set(['running', 'waiting', 'deferred']);

// ---- DOM helpers -------------------------------------------------------

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

function s(tag, attrs, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

// fill replaces el's children (arrays flattened, null and false dropped).
function fill(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
  return el;
}

const $ = (sel, el = document) => el.querySelector(sel);
const main = () => $('#main');
const badge = st => h('span', { class: 'badge st-' + st, 'data-status': st }, st);
const pretty = v => v === undefined || v === null ? '' : JSON.stringify(v, null, 2);
const when = t => t ? new Date(t).toLocaleString() : '';
const runLink = id => h('a', { href: '#/run/' + encodeURIComponent(id) }, id);
const shortHash = x => (x || '').slice(0, 12);

function flash(msg, kind = 'error') {
  const box = $('#flash');
  box.replaceChildren(h('div', { class: kind }, msg));
  if (kind === 'ok') setTimeout(() => { if (box.textContent === msg) box.replaceChildren(); }, 6000);
}

// ---- API ---------------------------------------------------------------

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const msg = data && data.error ? data.error : text || resp.statusText;
    const err = new Error(`${method} ${path}: ${resp.status} ${msg}`);
    err.status = resp.status;
    throw err;
  }
  return data;
}
const get = path => call('GET', path);
const post = (path, body) => call('POST', path, body);

function runPath(id, action) {
  return '/v1/runs/' + id.split('/').map(encodeURIComponent).join('/') + '/' + action;
}

// ---- who is operating --------------------------------------------------

const session = { role: 'operator' };
const canOperate = () => session.role === 'operator' || session.role === 'admin';
const by = () => ($('#by').value || '').trim() || 'ui';

async function loadRole() {
  try {
    const me = await get('/v1/whoami');
    if (me && me.role) session.role = me.role;
    if (me && me.name && !$('#by').value) $('#by').value = me.name;
  } catch { /* an API without roles lets the UI act; it refuses what it must */ }
  $('#role').textContent = 'role: ' + session.role;
  document.body.dataset.role = session.role;
}

// ---- routing and live refresh -----------------------------------------

let refreshTimer = null;
let generation = 0;

// stale reports whether the user left the page that started at gen: an
// answer that comes back late must not draw over the page they are on.
const stale = gen => gen !== generation;

function live(fn, ms) {
  clearTimeout(refreshTimer);
  const gen = generation;
  refreshTimer = setTimeout(() => { if (gen === generation) fn(); }, ms);
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || 'runs', rest: parts.slice(1), params: new URLSearchParams(query || '') };
}

async function route() {
  const gen = ++generation;
  clearTimeout(refreshTimer);
  const { page, rest, params } = parseHash();
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.dataset.nav === page || (page === 'run' && a.dataset.nav === 'runs'));
  }
  $('#flash').replaceChildren();
  const pages = { runs: runsPage, run: runPage, review: reviewPage, definitions: definitionsPage,
    definition: definitionPage, diff: diffPage };
  try {
    await (pages[page] || runsPage)(rest, params);
  } catch (e) {
    if (!stale(gen)) fill(main(), h('p', { class: 'err' }, e.message));
  }
  // The time from navigation to a drawn page, for anyone measuring it.
  performance.mark('ordo:drawn');
  updateReviewCount();
}

async function updateReviewCount() {
  try {
    const r = await get('/v1/views/runs?status=review&limit=1');
    const n = (r.counts || {}).review || 0;
    $('#review-count').textContent = n ? String(n) : '';
  } catch { /* the count is a hint only */ }
}

// ---- definitions cache -------------------------------------------------

// definitions lists stored definitions; withCounts adds each one's runs in
// flight (costlier: the definitions page only).
let defsCache = null;
async function definitions(fresh, withCounts) {
  if (withCounts) return (defsCache = await get('/v1/views/definitions'));
  if (!defsCache || fresh) defsCache = await get('/v1/definitions');
  return defsCache;
}
function versionOf(defs, hash) {
  const d = defs.find(x => x.hash === hash);
  return d ? d.version : shortHash(hash);
}

// ---- Runs page ---------------------------------------------------------

async function runsPage(_, params) {
  const gen = generation;
  const defs = await definitions(true);
  if (stale(gen)) return;
  const names = [...new Set(defs.map(d => d.name))].sort();
  const wf = params.get('workflow') || '';
  const field = (label, el) => h('label', {}, label, el);
  const opt = (v, text, sel) => h('option', { value: v, selected: sel === v }, text);
  const toLocal = v => v ? v.slice(0, 16) : '';
  const form = h('form', { class: 'filters', id: 'run-filters' },
    field('workflow', h('select', { name: 'workflow' }, opt('', 'all', wf), names.map(n => opt(n, n, wf)))),
    field('status', h('select', { name: 'status' }, opt('', 'any', params.get('status') || ''),
      STATUSES.map(x => opt(x, x, params.get('status'))))),
    field('version', h('select', { name: 'def' }, opt('', 'any', params.get('def') || ''),
      defs.filter(d => !wf || d.name === wf).map(d => opt(d.hash, `${d.name} ${d.version} (${shortHash(d.hash)})`, params.get('def'))))),
    field('key', h('input', { name: 'key', value: params.get('key') || '', placeholder: 'key or part of it', size: 18 })),
    field('updated since', h('input', { name: 'since', type: 'datetime-local', value: toLocal(params.get('since')) })),
    field('until', h('input', { name: 'until', type: 'datetime-local', value: toLocal(params.get('until')) })),
    field('per page', h('select', { name: 'limit' }, ['25', '50', '100', '250'].map(n => opt(n, n, params.get('limit') || '50')))),
    h('button', { class: 'primary', type: 'submit' }, 'Filter'),
    h('label', {}, 'live', h('input', { type: 'checkbox', id: 'live', checked: true })));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (!v) continue;
      q.set(k, k === 'since' || k === 'until' ? new Date(v).toISOString().replace(/\.\d+Z$/, 'Z') : v);
    }
    location.hash = '#/runs?' + q;
  });
  const results = h('div', { id: 'runs' });
  fill(main(), h('h1', {}, 'Runs'), form, results);

  const load = async () => {
    const q = new URLSearchParams(params);
    if (!q.get('limit')) q.set('limit', '50');
    const r = await get('/v1/views/runs?' + q);
    if (stale(gen)) return;
    renderRuns(results, r, defs, params);
    const busy = ['running', 'waiting', 'deferred'].some(x => (r.counts || {})[x] > 0);
    if (busy && $('#live') && $('#live').checked) live(() => load().catch(e => flash(e.message)), 3000);
  };
  await load();
}

function renderRuns(box, r, defs, params) {
  const counts = r.counts || {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const chip = (st, n) => h('span', {
    class: 'count st-' + st, 'data-count': st,
    onclick: () => { const q = new URLSearchParams(params); q.delete('cursor'); if (st === 'all') q.delete('status'); else q.set('status', st); location.hash = '#/runs?' + q; },
  }, st, h('b', {}, n));
  const chips = h('div', { class: 'counts' }, chip('all', total + (r.countsExact ? '' : '+')),
    STATUSES.map(st => chip(st, counts[st] || 0)));
  const rows = r.runs.map(run => h('tr', { 'data-run': run.id },
    h('td', { class: 'id' }, runLink(run.id)),
    h('td', {}, run.workflow),
    h('td', {}, badge(run.status)),
    h('td', {}, h('a', { href: '#/definition/' + run.defHash, title: run.defHash }, versionOf(defs, run.defHash))),
    h('td', {}, when(run.created)),
    h('td', {}, when(run.updated))));
  const table = h('table', { id: 'runs-table' },
    h('thead', {}, h('tr', {}, ['run', 'workflow', 'status', 'version', 'started', 'updated'].map(x => h('th', {}, x)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No runs match.'))));
  const pager = h('div', { class: 'pager' },
    h('button', { disabled: !params.get('cursor'), onclick: () => history.back() }, '← newer'),
    h('button', {
      id: 'older', disabled: !r.next,
      onclick: () => { const q = new URLSearchParams(params); q.set('cursor', r.next); location.hash = '#/runs?' + q; },
    }, 'older →'),
    h('span', { class: 'muted' }, `${r.runs.length} shown, updated ${new Date().toLocaleTimeString()}`));
  fill(box, chips, table, pager);
}

// ---- DAG drawing -------------------------------------------------------

// drawDag lays the nodes out with dagre and draws them as SVG. statusOf(name)
// gives a node's status class; sub(name) its second line.
function drawDag(nodes, statusOf, sub, onClick, selected) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 26, ranksep: 38, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) {
    const width = Math.max(120, 7.2 * Math.max(n.name.length, (sub(n) || '').length) + 26);
    g.setNode(n.name, { width, height: 44 });
  }
  for (const n of nodes) {
    for (const a of n.after || []) if (g.hasNode(a)) g.setEdge(a, n.name, { cond: !!n.when });
  }
  dagre.layout(g);
  const gg = g.graph();
  const w = Math.max(gg.width || 0, 200), ht = Math.max(gg.height || 0, 60);
  const root = s('svg', { class: 'dag', viewBox: `0 0 ${w} ${ht}`, width: w, height: ht, id: 'dag' },
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#6b7280' }))));
  for (const e of g.edges()) {
    const ed = g.edge(e);
    const d = ed.points.map((p, i) => (i ? 'L' : 'M') + p.x.toFixed(1) + ',' + p.y.toFixed(1)).join(' ');
    root.append(s('path', { class: 'edge' + (ed.cond ? ' cond' : ''), d, 'marker-end': 'url(#arrow)' }));
  }
  for (const n of nodes) {
    const box = g.node(n.name);
    const st = statusOf(n.name);
    const node = s('g', {
      class: `node n-${st}` + (selected === n.name ? ' selected' : ''), 'data-step': n.name, 'data-status': st,
      transform: `translate(${box.x - box.width / 2},${box.y - box.height / 2})`,
    },
    s('title', {}, `${n.name}: ${st}`),
    s('rect', { width: box.width, height: box.height }),
    s('text', { x: box.width / 2, y: 18, 'text-anchor': 'middle' }, n.name),
    s('text', { class: 'sub', x: box.width / 2, y: 34, 'text-anchor': 'middle' }, sub(n) || ''));
    if (onClick) node.addEventListener('click', () => onClick(n.name));
    root.append(node);
  }
  return root;
}

function legend(list) {
  return h('div', { class: 'legend' }, list.map(x => badge(x)));
}

// ---- Run page ----------------------------------------------------------

async function runPage(rest, params) {
  const id = rest.join('/');
  const st = { id, at: params.has('at') ? Number(params.get('at')) : 0, step: params.get('step') || '', events: null, view: null, loads: 0 };
  const gen = generation;
  const load = async () => {
    // Only the latest load draws: the slider and the live refresh may
    // overlap, and answers can come back out of order.
    const mine = ++st.loads;
    const q = new URLSearchParams({ id });
    if (st.at) q.set('at', st.at);
    // The first load lists every event; later ones only the new ones.
    if (!st.events) q.set('events', '1');
    else q.set('after', st.events.length ? st.events[st.events.length - 1].seq : 0);
    if (st.items) q.set('items', st.items);
    const v = await get('/v1/views/run?' + q);
    if (stale(gen) || mine !== st.loads) return;
    const last = st.events && st.events.length ? st.events[st.events.length - 1].seq : 0;
    st.events = (st.events || []).concat((v.events || []).filter(e => !st.events || e.seq > last));
    st.view = v;
    renderRun(st, load);
    const following = !st.at || st.at >= v.last;
    // Runs that move on their own are followed; one in review waits for an
    // operator, so it is not redrawn under theirs.
    if (MOVING.has(v.run.status) && following) live(() => load().catch(e => flash(e.message)), 2000);
  };
  st.reload = load;
  await load();
}

function setRunHash(st) {
  const q = new URLSearchParams();
  if (st.at) q.set('at', st.at);
  if (st.step) q.set('step', st.step);
  history.replaceState(null, '', '#/run/' + encodeURIComponent(st.id) + (q.toString() ? '?' + q : ''));
}

function renderRun(st, load) {
  const v = st.view;
  const seqs = [...new Set(st.events.map(e => e.seq))];
  const at = v.at;
  const idx = Math.max(0, seqs.indexOf(at));
  const go = seq => { st.at = seq >= v.last ? 0 : seq; setRunHash(st); load().catch(e => flash(e.message)); };
  const head = h('div', {},
    h('h1', {}, v.run.id, ' ', badge(v.run.status)),
    h('dl', { class: 'kv' },
      h('dt', {}, 'workflow'), h('dd', {}, h('a', { href: '#/runs?workflow=' + encodeURIComponent(v.run.workflow) }, v.run.workflow)),
      h('dt', {}, 'definition'), h('dd', {}, h('a', { href: '#/definition/' + v.definition.hash }, `${v.definition.version} (${shortHash(v.definition.hash)})`)),
      h('dt', {}, 'key'), h('dd', {}, v.key),
      h('dt', {}, 'trigger'), h('dd', {}, v.trigger || ''),
      v.parent && [h('dt', {}, 'parent'), h('dd', { id: 'parent' }, runLink(v.parent), v.parentStep ? ` (step ${v.parentStep})` : '')],
      h('dt', {}, 'started'), h('dd', {}, when(v.run.created)),
      h('dt', {}, 'updated'), h('dd', {}, when(v.run.updated)),
      v.reason && [h('dt', {}, 'reason'), h('dd', { class: 'err' }, v.reason)]),
    runActions(v), h('div', { class: 'toolbar' }, recordingButton(v)));

  const slider = h('input', { type: 'range', id: 'slider', min: 0, max: seqs.length - 1, value: idx, step: 1 });
  slider.addEventListener('change', () => go(seqs[Number(slider.value)]));
  const kinds = st.events.filter(e => e.seq === at).map(e => e.kind + (e.step ? ' ' + e.step : ''));
  const sliderBox = h('div', { class: 'slider' },
    h('button', { id: 'prev', disabled: idx === 0, onclick: () => go(seqs[idx - 1]) }, '◀'),
    slider,
    h('button', { id: 'next', disabled: idx >= seqs.length - 1, onclick: () => go(seqs[idx + 1]) }, '▶'),
    h('button', { id: 'latest', disabled: !st.at, onclick: () => go(v.last) }, 'latest'),
    h('span', { id: 'at-label' }, `commit ${at} of ${v.last}`, ' · ', h('span', { class: 'muted' }, kinds.join(', '))));

  const steps = Object.fromEntries(v.steps.map(x => [x.name, x]));
  const sub = n => {
    const x = steps[n.name];
    let t = n.label || n.type;
    if (x && x.items) t += ` · ${(x.items.counts.succeeded || 0)}/${x.items.total}`;
    else if (x && x.attempt > 1) t += ` · try ${x.attempt}`;
    return t;
  };
  const pick = name => { st.step = st.step === name ? '' : name; setRunHash(st); renderRun(st, load); };
  const dag = drawDag(v.definition.nodes, name => (steps[name] || {}).status || 'pending', sub, pick, st.step);
  const left = h('div', { class: 'panel' }, h('h2', {}, 'Graph ', h('span', { class: 'muted' }, `at commit ${at}`)), dag,
    legend(STEP_STATUSES), sliderBox);
  const right = h('div', { class: 'panel', id: 'detail' }, st.step && steps[st.step] ? stepDetail(steps[st.step], st, load) : runDetail(v));
  fill(main(), head, h('div', { class: 'grid' }, left, right), timeline(st, go), effectsTable(v));
}

// recordingButton downloads the run as a golden journal: saved in the
// testdata of a directory made by `ordo gen-test`, go test checks the run
// against the current definitions and step code.
function recordingButton(v) {
  const btn = h('button', {
    id: 'gen-test', title: 'Download this run as a golden journal for a gen-test directory\'s testdata',
    onclick: async () => {
      const path = '/v1/recordings/' + v.run.id.split('/').map(encodeURIComponent).join('/');
      try {
        const resp = await fetch(path);
        if (!resp.ok) throw new Error(`GET ${path}: ${resp.status} ${await resp.text()}`);
        const blob = await resp.blob();
        const a = h('a', { href: URL.createObjectURL(blob), download: v.run.id.replace(/[^A-Za-z0-9._-]/g, '_') + '.json' });
        document.body.append(a);
        a.click();
        a.remove();
        URL.revokeObjectURL(a.href);
        btn.dataset.bytes = String(blob.size);
      } catch (e) { flash(e.message); }
    },
  }, 'Download as regression test');
  return btn;
}

function runActions(v) {
  if (!canOperate() || TERMINAL.has(v.run.status)) return null;
  const reason = h('input', { id: 'cancel-reason', placeholder: 'reason', size: 24 });
  return h('div', { class: 'toolbar' },
    v.run.status === 'review' && h('a', { href: '#/review?run=' + encodeURIComponent(v.run.id) }, 'Resubmit from the review queue →'),
    reason,
    h('button', {
      class: 'danger', id: 'cancel-run', onclick: async () => {
        if (!confirm(`Cancel ${v.run.id}?`)) return;
        try { await post(runPath(v.run.id, 'cancel'), { by: by(), reason: reason.value }); await route(); flash('Cancelled ' + v.run.id, 'ok'); } catch (e) { flash(e.message); }
      },
    }, 'Cancel run'));
}

function runDetail(v) {
  const children = v.steps.flatMap(x => (x.children || []).map(c => ({ step: x.name, id: c })));
  return h('div', {},
    h('h2', {}, 'Run at commit ', v.at, ' ', badge(v.status)),
    h('p', { class: 'muted' }, 'Click a step in the graph for its attempts.'),
    h('h2', {}, 'State'), h('pre', { id: 'state' }, pretty(v.state)),
    h('h2', {}, 'Input'), h('pre', {}, pretty(v.input)),
    v.output && [h('h2', {}, 'Output'), h('pre', {}, pretty(v.output))],
    children.length > 0 && [h('h2', {}, 'Child runs'),
      h('ul', { id: 'children' }, children.map(c => h('li', {}, runLink(c.id), ` (step ${c.step})`)))]);
}

function stepDetail(x, st, load) {
  const items = x.items;
  return h('div', { 'data-detail': x.name },
    h('h2', {}, 'Step ', x.name, ' ', badge(x.status)),
    x.error && h('p', { class: 'err' }, `${x.error.kind ? '[' + x.error.kind + '] ' : ''}${x.error.message}`),
    x.due && h('p', { class: 'muted' }, 'due ' + when(x.due)),
    (x.children || []).length > 0 && h('p', {}, 'child runs: ', x.children.map(c => [runLink(c), ' '])),
    x.attempts.length === 0 && h('p', { class: 'muted' }, 'No attempt yet at this commit.'),
    x.attempts.map(a => attemptView(a)),
    x.compensation && [h('h2', {}, 'Compensation'), attemptView(x.compensation)],
    items && itemsView(items, st, load));
}

function attemptView(a) {
  const sec = (title, v) => v !== undefined && v !== null && [h('div', { class: 'muted' }, title), h('pre', {}, pretty(v))];
  return h('div', { class: 'attempt', 'data-attempt': a.attempt },
    h('b', {}, `attempt ${a.attempt} `), badge(a.result),
    h('span', { class: 'muted' }, ` scheduled ${when(a.scheduled)} (commit ${a.seq})`,
      a.finished ? ` · ${a.durationMs || 0} ms · finished commit ${a.endSeq}` : '',
      a.retryDue ? ` · retry due ${when(a.retryDue)}` : ''),
    a.error && h('p', { class: 'err' }, `${a.error.kind ? '[' + a.error.kind + '] ' : ''}${a.error.message}${a.error.terminal ? ' (terminal)' : ''}`),
    sec('input', a.input), sec('output', a.output), sec('state patch', a.statePatch),
    sec('state before', a.stateBefore), sec('state after', a.stateAfter),
    (a.effects || []).length > 0 && [h('div', { class: 'muted' }, 'effects'),
      h('ul', {}, a.effects.map(e => h('li', {}, `${e.kind} ${e.target || ''} `, badge(e.status), e.error ? ' ' + e.error.message : '')))]);
}

function itemsView(items, st, load) {
  const page = n => { st.items = n; load().catch(e => flash(e.message)); };
  return h('div', { id: 'items' },
    h('h2', {}, `Items (${items.total})`),
    h('div', { class: 'counts' }, Object.entries(items.counts).map(([k, n]) => h('span', { class: 'badge st-' + k }, `${k} ${n}`))),
    h('table', {}, h('thead', {}, h('tr', {}, ['#', 'phase', 'try', 'input', 'output / error'].map(t => h('th', {}, t)))),
      h('tbody', {}, items.list.map(it => h('tr', {},
        h('td', {}, it.index), h('td', {}, badge(it.phase)), h('td', {}, it.attempt || ''),
        h('td', {}, h('pre', {}, pretty(it.input))),
        h('td', {}, it.error ? h('span', { class: 'err' }, it.error.message) : h('pre', {}, pretty(it.output))))))),
    h('div', { class: 'pager' },
      h('button', { disabled: items.offset === 0, onclick: () => page(Math.max(0, items.offset - 100)) }, '← previous items'),
      h('button', { disabled: items.offset + items.list.length >= items.total, onclick: () => page(items.offset + 100) }, 'next items →')));
}

function eventDetail(e) {
  const parts = [];
  if (e.step) parts.push(e.step + (e.index ? `[${e.index}]` : '') + (e.attempt ? ` #${e.attempt}` : ''));
  if (e.compensation) parts.push('compensation');
  if (e.error) parts.push('error: ' + e.error.message);
  if (e.reason) parts.push('reason: ' + e.reason);
  if (e.by) parts.push('by ' + e.by);
  if (e.effectId) parts.push('effect ' + e.effectId);
  if (e.effects) parts.push(`${e.effects} effect(s)`);
  if (e.name) parts.push('name ' + e.name);
  if (e.due) parts.push('due ' + when(e.due));
  return parts.join(' · ');
}

function timeline(st, go) {
  const at = st.view.at;
  const cur = st.events.findIndex(e => e.seq === at);
  // Long runs: show a window around the selected commit.
  const from = Math.max(0, cur - 100), to = Math.min(st.events.length, from + 200);
  const rows = st.events.slice(from, to).map(e => h('tr', {
    class: e.seq > at ? 'future' : e.seq === at ? 'current' : '', 'data-seq': e.seq, onclick: () => go(e.seq),
  },
  h('td', {}, e.seq), h('td', {}, when(e.at)), h('td', {}, e.kind),
  h('td', {}, eventDetail(e),
    e.child ? [' → ', runLink(e.child)] : '',
    e.parent ? [' ← parent ', runLink(e.parent)] : '')));
  return h('div', { class: 'panel' }, h('h2', {}, `Timeline (${st.events.length} events` + (to - from < st.events.length ? `, ${from + 1}–${to} shown` : '') + ')'),
    h('div', { class: 'timeline' }, h('table', { id: 'timeline' },
      h('thead', {}, h('tr', {}, ['commit', 'at', 'event', 'detail'].map(t => h('th', {}, t)))), h('tbody', {}, rows))));
}

function effectsTable(v) {
  if (!v.effects.length) return null;
  return h('div', { class: 'panel' }, h('h2', {}, 'Effects'),
    h('table', { id: 'effects' }, h('thead', {}, h('tr', {}, ['id', 'step', 'kind', 'target', 'status', 'outcomes', 'error'].map(t => h('th', {}, t)))),
      h('tbody', {}, v.effects.map(e => h('tr', {},
        h('td', { class: 'id' }, e.id), h('td', {}, e.step), h('td', {}, e.kind), h('td', {}, e.target || ''),
        h('td', {}, badge(e.status)), h('td', {}, e.outcomes || 0), h('td', { class: 'err' }, e.error ? e.error.message : ''))))));
}

// ---- Review queue ------------------------------------------------------

async function reviewPage(_, params) {
  const gen = generation;
  const q = new URLSearchParams({ limit: params.get('limit') || '50' });
  if (params.get('workflow')) q.set('workflow', params.get('workflow'));
  if (params.get('cursor')) q.set('cursor', params.get('cursor'));
  let r, items;
  if (params.get('run')) {
    // One run, wherever it is in the queue: its view has what the item needs.
    const v = await get('/v1/views/run?' + new URLSearchParams({ id: params.get('run') }));
    r = { next: '' };
    items = v.run.status !== 'review' ? [] : [{ run: v.run.id, key: v.key, updated: v.run.updated, reason: v.reason,
      failed: v.steps.filter(x => x.status === 'review'), state: v.state, seq: v.last }];
  } else {
    r = await get('/v1/views/review?' + q);
    items = r.items;
  }
  const bulk = h('div', { class: 'toolbar' },
    canOperate() && [
      h('button', { id: 'bulk-resubmit', onclick: () => bulkAct('resubmit') }, 'Resubmit selected'),
      h('button', { class: 'danger', id: 'bulk-cancel', onclick: () => bulkAct('cancel') }, 'Cancel selected')],
    h('span', { class: 'muted' }, `${items.length} run(s) in review`),
    params.get('run') && h('a', { href: '#/review' }, 'show all'));
  const others = await otherItems();
  if (stale(gen)) return;
  fill(main(), h('h1', {}, 'Review queue'), bulk,
    items.length ? items.map(reviewItem) : h('p', { class: 'muted', id: 'review-empty' }, 'No run needs review.'),
    r.next ? h('button', { onclick: () => { const p = new URLSearchParams(params); p.set('cursor', r.next); location.hash = '#/review?' + p; } }, 'more →') : null,
    others && [h('h2', {}, 'Failed effects and malformed triggers'),
      others.length ? others.map(otherItem) : h('p', { class: 'muted', id: 'items-empty' }, 'None open.')]);
}

// otherItems lists the open review items that are not runs, or null when
// the journal keeps none.
async function otherItems() {
  try {
    return (await get('/v1/review?limit=100')).items;
  } catch (e) {
    if (e.status === 501 || e.status === 404) return null;
    throw e;
  }
}

function otherItem(it) {
  const trigger = it.kind === 'malformed-trigger';
  const note = h('input', { class: 'note', placeholder: 'note', size: 30 });
  const body = trigger ? h('textarea', { class: 'body', spellcheck: 'false' }, pretty(it.payload)) : null;
  const act = async action => {
    const req = { action, by: by(), note: note.value };
    if (action === 'resubmit') {
      const p = parseField(body, 'body');
      if (p.error) { flash(p.error); return; }
      if (JSON.stringify(p.value) !== JSON.stringify(it.payload)) req.body = p.value;
    }
    try {
      await post('/v1/review/' + it.id.split('/').map(encodeURIComponent).join('/') + '/resolve', req);
      await route();
      flash(`${it.id}: ${action} done`, 'ok');
    } catch (e) { flash(e.message); }
  };
  return h('div', { class: 'review-item other', 'data-item': it.id },
    h('div', { class: 'row' }, h('b', {}, it.id), badge(it.kind), h('span', { class: 'muted' }, when(it.created)),
      it.run && ['run ', runLink(it.run)], it.source && h('span', { class: 'muted' }, 'from ' + it.source)),
    h('p', { class: 'err' }, it.reason),
    trigger ? [h('div', { class: 'muted' }, 'body (JSON, editable before resubmitting)'), body] : h('pre', {}, pretty(it.payload)),
    canOperate() && h('div', { class: 'row' }, note,
      trigger ? h('button', { class: 'primary resubmit-item', onclick: () => act('resubmit') }, 'Resubmit')
        : h('button', { class: 'primary redispatch', onclick: () => act('redispatch') }, 'Redispatch'),
      h('button', { class: 'danger discard', onclick: () => act('discard') }, 'Discard')));
}

function reviewItem(it) {
  const failed = it.failed[0] || {};
  const stepSel = h('select', { class: 'step' }, it.failed.map(f => h('option', { value: f.name }, f.name)));
  const input = h('textarea', { class: 'input', spellcheck: 'false' }, pretty(failed.input));
  const state = h('textarea', { class: 'state', spellcheck: 'false', placeholder: 'a JSON merge patch on the run state, e.g. {"approved": true}' });
  const reason = h('input', { class: 'reason', placeholder: 'reason', size: 30 });
  const diff = h('div', { class: 'preview' });
  const send = h('button', { class: 'primary send', disabled: true }, 'Send resubmit');
  stepSel.addEventListener('change', () => {
    const f = it.failed.find(x => x.name === stepSel.value);
    input.value = pretty(f && f.input);
    send.disabled = true; fill(diff);
  });
  for (const el of [input, state]) el.addEventListener('input', () => { send.disabled = true; fill(diff); });
  const body = () => {
    const f = it.failed.find(x => x.name === stepSel.value) || {};
    const out = { by: by(), step: stepSel.value, reason: reason.value };
    const parsed = parseField(input, 'input');
    if (parsed.error) return parsed;
    if (JSON.stringify(parsed.value) !== JSON.stringify(f.input)) out.input = parsed.value;
    if (state.value.trim()) {
      const p = parseField(state, 'state patch');
      if (p.error) return p;
      if (typeof p.value !== 'object' || Array.isArray(p.value) || p.value === null) return { error: 'state patch: want a JSON object (a merge patch)' };
      out.state = p.value;
    }
    return { value: out, step: f };
  };
  const preview = h('button', {
    class: 'preview-btn', onclick: () => {
      const b = body();
      if (b.error) { fill(diff, h('p', { class: 'err' }, b.error)); send.disabled = true; return; }
      const newState = b.value.state ? mergePatch(structuredClone(it.state || {}), b.value.state) : it.state;
      fill(diff, 
        h('div', { class: 'muted' }, `input of ${b.value.step}` + (b.value.input ? '' : ' (unchanged)')),
        diffView(pretty(b.step.input), pretty(b.value.input !== undefined ? b.value.input : b.step.input)),
        h('div', { class: 'muted' }, 'run state' + (b.value.state ? '' : ' (unchanged)')),
        diffView(pretty(it.state), pretty(newState)));
      send.disabled = false;
    },
  }, 'Review changes');
  send.addEventListener('click', async () => {
    const b = body();
    if (b.error) { flash(b.error); return; }
    send.disabled = true;
    try {
      await resubmit(it, b.value);
      await route();
      flash(`Resubmitted ${it.run} from ${b.value.step}`, 'ok');
    } catch (e) { flash(e.message); send.disabled = false; }
  });
  const cancel = h('button', {
    class: 'danger cancel', onclick: async () => {
      try { await post(runPath(it.run, 'cancel'), { by: by(), reason: reason.value }); await route(); flash('Cancelled ' + it.run, 'ok'); } catch (e) { flash(e.message); }
    },
  }, 'Cancel run');
  return h('div', { class: 'review-item', 'data-run': it.run, 'data-seq': it.seq },
    h('div', { class: 'row' },
      canOperate() && h('input', { type: 'checkbox', class: 'pick' }),
      h('b', {}, runLink(it.run)), badge('review'), h('span', { class: 'muted' }, when(it.updated))),
    h('p', { class: 'err' }, it.reason),
    it.failed.map(f => h('div', { class: 'muted' }, `${f.name} (attempt ${f.attempt}): `, f.error ? f.error.message : '')),
    canOperate() && h('details', {}, h('summary', {}, 'Resubmit with edits…'),
      h('div', { class: 'row' }, 'from step ', stepSel, reason),
      h('div', {}, h('div', { class: 'muted' }, 'input (JSON)'), input),
      h('div', {}, h('div', { class: 'muted' }, 'state patch (JSON, optional)'), state),
      h('div', { class: 'row' }, preview, send, cancel), diff));
}

// resubmit refuses when the run moved on since the queue was loaded.
async function resubmit(it, body) {
  const v = await get('/v1/views/run?' + new URLSearchParams({ id: it.run }));
  if (v.last !== it.seq || v.run.status !== 'review') {
    throw new Error(`${it.run} changed since this page loaded (commit ${it.seq} → ${v.last}, status ${v.run.status}); reload the queue and review it again. Nothing was sent.`);
  }
  return post(runPath(it.run, 'resubmit'), body);
}

async function bulkAct(action) {
  const picked = [...document.querySelectorAll('.review-item')].filter(el => $('.pick', el) && $('.pick', el).checked);
  if (!picked.length) { flash('Select runs first.'); return; }
  const r = await get('/v1/views/review?limit=1000');
  const byRun = Object.fromEntries(r.items.map(x => [x.run, x]));
  const failures = [];
  for (const el of picked) {
    const it = byRun[el.dataset.run];
    try {
      if (!it || String(it.seq) !== el.dataset.seq) throw new Error('changed since this page loaded; not sent');
      if (action === 'resubmit') await post(runPath(it.run, 'resubmit'), { by: by(), reason: 'bulk resubmit' });
      else await post(runPath(it.run, 'cancel'), { by: by(), reason: 'bulk cancel' });
    } catch (e) { failures.push(`${el.dataset.run}: ${e.message}`); }
  }
  await route();
  if (failures.length) flash(`${picked.length - failures.length} of ${picked.length} done; ` + failures.join('; '));
  else flash(`${action === 'resubmit' ? 'Resubmitted' : 'Cancelled'} ${picked.length} run(s)`, 'ok');
}

function parseField(el, name) {
  try {
    const value = JSON.parse(el.value);
    el.classList.remove('invalid');
    return { value };
  } catch (e) {
    el.classList.add('invalid');
    return { error: `${name} is not valid JSON: ${e.message}` };
  }
}

function mergePatch(target, patch) {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  if (typeof target !== 'object' || target === null || Array.isArray(target)) target = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else target[k] = mergePatch(target[k], v);
  }
  return target;
}

// diffLines is a line diff (longest common subsequence).
function diffLines(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  if (x.length * y.length > 4e6) return [...x.map(t => ['del', t]), ...y.map(t => ['add', t])];
  const n = x.length, m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push(['same', x[i]]); i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) out.push(['del', x[i++]]); else out.push(['add', y[j++]]);
  }
  while (i < n) out.push(['del', x[i++]]);
  while (j < m) out.push(['add', y[j++]]);
  return out;
}

function diffView(a, b) {
  const lines = diffLines(a || '', b || '');
  return h('div', { class: 'diff' }, lines.map(([k, t]) => h('span', { class: k }, (k === 'add' ? '+ ' : k === 'del' ? '- ' : '  ') + t)));
}

// ---- Definitions -------------------------------------------------------

async function definitionsPage() {
  const gen = generation;
  const defs = await definitions(true, true);
  if (stale(gen)) return;
  const pickA = h('select', { id: 'diff-a' }), pickB = h('select', { id: 'diff-b' });
  for (const d of defs) {
    pickA.append(h('option', { value: d.hash }, `${d.name} ${d.version}`));
    pickB.append(h('option', { value: d.hash }, `${d.name} ${d.version}`));
  }
  if (defs.length > 1) pickA.selectedIndex = 1;
  const rows = defs.map(d => h('tr', { 'data-hash': d.hash },
    h('td', {}, d.name), h('td', {}, h('a', { href: '#/definition/' + d.hash }, d.version)),
    h('td', { class: 'id' }, shortHash(d.hash)), h('td', {}, when(d.created)),
    h('td', {}, h('a', { href: `#/runs?workflow=${encodeURIComponent(d.name)}&def=${d.hash}` }, d.inFlight))));
  fill(main(), h('h1', {}, 'Definitions'),
    h('div', { class: 'toolbar' }, 'compare ', pickA, ' with ', pickB,
      h('button', { onclick: () => { location.hash = `#/diff/${pickA.value}/${pickB.value}`; } }, 'Diff')),
    h('table', { id: 'definitions' }, h('thead', {}, h('tr', {}, ['workflow', 'version', 'hash', 'stored', 'runs in flight'].map(t => h('th', {}, t)))),
      h('tbody', {}, rows)));
}

async function definitionPage(rest) {
  const gen = generation;
  const d = await get('/v1/views/definition?' + new URLSearchParams({ hash: rest[0] }));
  if (stale(gen)) return;
  const g = d.graph;
  fill(main(), h('h1', {}, `${g.name} ${g.version}`),
    h('p', { class: 'muted' }, g.hash, ' · ', h('a', { href: `#/runs?workflow=${encodeURIComponent(g.name)}&def=${g.hash}` }, 'runs of this version')),
    h('div', { class: 'grid' },
      h('div', { class: 'panel' }, drawDag(g.nodes, () => 'same', n => n.label || n.type)),
      h('div', { class: 'panel' }, h('h2', {}, 'Definition'), h('pre', {}, pretty(d.json)))));
}

async function diffPage(rest) {
  const gen = generation;
  const [a, b] = await Promise.all(rest.slice(0, 2).map(x => get('/v1/views/definition?' + new URLSearchParams({ hash: x }))));
  if (stale(gen)) return;
  const na = Object.fromEntries(a.json.steps.map(x => [x.name, x]));
  const nb = Object.fromEntries(b.json.steps.map(x => [x.name, x]));
  const status = {};
  for (const n of Object.keys(nb)) status[n] = !na[n] ? 'added' : JSON.stringify(na[n]) === JSON.stringify(nb[n]) ? 'same' : 'changed';
  for (const n of Object.keys(na)) if (!nb[n]) status[n] = 'removed';
  const nodes = [...b.graph.nodes, ...a.graph.nodes.filter(n => !nb[n.name])];
  fill(main(), h('h1', {}, `${a.graph.name} ${a.graph.version} → ${b.graph.name} ${b.graph.version}`),
    legend(['added', 'removed', 'changed']),
    h('div', { class: 'grid' },
      h('div', { class: 'panel' }, drawDag(nodes, n => status[n], n => n.label || n.type)),
      h('div', { class: 'panel' }, h('h2', {}, 'Definition JSON'), diffView(pretty(a.json), pretty(b.json)))));
}

// ---- start -------------------------------------------------------------

window.addEventListener('hashchange', route);
$('#by').value = localStorage.getItem('ordo.by') || '';
$('#by').addEventListener('change', () => localStorage.setItem('ordo.by', $('#by').value));
loadRole().then(route);

// Sonde's web UI: a time-series chart to pick a range, a flame graph (icicle) with zoom and
// search, a top-functions table, and a diff view. Plain JS on the collector's JSON API
// (docs/query-api.md); the page state lives in the URL so a view can be shared.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  query: '', from: 0, to: 0, range: '3600', diff: false, rightQuery: '', rightRange: 'same',
  flame: null, zoom: 0, search: '', top: [], sortKey: 'self', type: null, ptype: '',
};
const CPU_TYPE = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

// ---- URL state ---------------------------------------------------------------------------------

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.query = p.get('query') || '';
  state.ptype = p.get('type') || '';
  state.range = p.get('range') || (p.get('from') ? 'custom' : '3600');
  const now = Math.floor(Date.now() / 1000);
  state.to = p.get('to') ? Number(p.get('to')) : now;
  state.from = p.get('from') ? Number(p.get('from')) : state.to - Number(state.range === 'custom' ? 3600 : state.range);
  state.diff = p.get('diff') === '1';
  state.rightQuery = p.get('right_query') || '';
  state.rightRange = p.get('right_range') || 'same';
  state.rightFrom = p.get('right_from') ? Number(p.get('right_from')) : null;
  state.rightTo = p.get('right_to') ? Number(p.get('right_to')) : null;
  if (state.rightFrom !== null) state.rightRange = 'custom';
}

function writeUrl() {
  const p = new URLSearchParams();
  if (state.query) p.set('query', state.query);
  if (state.ptype) p.set('type', state.ptype);
  if (state.range === 'custom') { p.set('from', state.from); p.set('to', state.to); } else p.set('range', state.range);
  if (state.diff) {
    p.set('diff', '1');
    if (state.rightQuery) p.set('right_query', state.rightQuery);
    if (state.rightRange === 'custom') { p.set('right_from', state.rightFrom); p.set('right_to', state.rightTo); } else p.set('right_range', state.rightRange);
  }
  history.replaceState(null, '', '?' + p.toString());
}

function refreshRange() {
  if (state.range !== 'custom') {
    state.to = Math.floor(Date.now() / 1000);
    state.from = state.to - Number(state.range);
  }
}

// ---- the API -------------------------------------------------------------------------------------

async function api(op, params) {
  const url = '/api/v1/' + op + '?' + new URLSearchParams(params).toString();
  const headers = {};
  const token = sessionStorage.getItem('sonde-token');
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(url, { headers });
  if (res.status === 401 && !token) {
    const t = prompt('This collector needs a token (Authorization: Bearer):');
    if (t) { sessionStorage.setItem('sonde-token', t); return api(op, params); }
  }
  const body = await res.json().catch(() => ({ error: 'HTTP ' + res.status }));
  if (!res.ok) throw new Error(body.error || 'HTTP ' + res.status);
  return body;
}

function showError(e) {
  const box = $('error');
  box.hidden = !e;
  box.textContent = e ? String(e.message || e) : '';
}

function baseParams() {
  const p = { query: state.query || '{}', from: state.from, to: state.to };
  if (state.ptype) p.type = state.ptype;
  return p;
}

function rightParams() {
  const span = state.to - state.from;
  const p = { right_query: state.rightQuery || state.query || '{}' };
  if (state.rightRange === 'previous') { p.right_from = state.from - span; p.right_to = state.from; }
  if (state.rightRange === 'custom') { p.right_from = state.rightFrom; p.right_to = state.rightTo; }
  return p;
}

// ---- formatting -----------------------------------------------------------------------------

const fmtSeconds = (sec) => (sec >= 60 ? (sec / 60).toFixed(1) + ' min' : sec >= 1 ? sec.toFixed(2) + ' s' : (sec * 1000).toFixed(1) + ' ms');

function fmtBytes(v) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : String(v)) + ' ' + units[i];
}

// A value in the unit of the profile type shown: samples (and their time), time, bytes, counts.
function fmtValue(v) {
  const t = state.type;
  const unit = t ? t.sample_unit : '';
  if (unit === 'nanoseconds') return fmtSeconds(v / 1e9);
  if (unit === 'bytes') return fmtBytes(v);
  let s = v.toLocaleString();
  if (unit === 'count' && t.period_unit === 'nanoseconds' && t.period) s += ' samples (' + fmtSeconds(v * t.period / 1e9) + ')';
  else if (unit === 'count') s += ' ' + (t.sample_type === 'samples' ? 'samples' : t.sample_type.replace(/^(alloc|inuse)_/, ''));
  return s;
}

const pct = (a, b) => (b ? (100 * a / b).toFixed(2) : '0.00') + '%';
const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

function fmtTime(sec) {
  const d = new Date(sec * 1000);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// ---- the chart: total samples over time; drag to select a range --------------------------------

let chartData = null;

async function loadChart() {
  chartData = await api('series', baseParams());
  drawChart();
}

function drawChart() {
  const svg = $('chart');
  const w = svg.clientWidth || 800, h = 120, pad = 18;
  const d = chartData;
  const vals = new Array(d.steps).fill(0);
  for (const s of d.series) s.values.forEach((v, i) => { vals[i] += v; });
  const max = Math.max(1, ...vals);
  const x = (i) => (d.steps <= 1 ? 0 : (i / (d.steps - 1)) * w);
  const y = (v) => h - pad - (v / max) * (h - pad - 4);
  let path = `M0,${h - pad}`;
  vals.forEach((v, i) => { path += ` L${x(i).toFixed(1)},${y(v).toFixed(1)}`; });
  path += ` L${w},${h - pad} Z`;
  const t0 = d.from_ms / 1000, t1 = t0 + (d.steps - 1) * d.step_ms / 1000;
  svg.innerHTML = `<path class="area" d="${path}"></path>` +
    `<text class="axis" x="2" y="${h - 4}">${fmtTime(t0)}</text>` +
    `<text class="axis" x="${w - 2}" y="${h - 4}" text-anchor="end">${fmtTime(t1)}</text>` +
    `<text class="axis" x="2" y="10">max ${fmtValue(max)} per ${d.step_ms / 1000} s</text>` +
    `<rect class="sel" id="chart-sel" x="0" y="0" width="0" height="${h - pad}"></rect>`;
  const total = vals.reduce((a, b) => a + b, 0);
  $('chart-info').textContent = `${fmtValue(total)} in ${fmtTime(state.from)} .. ${fmtTime(state.to)}; drag on the chart to zoom into a range`;
  svg.dataset.t0 = t0; svg.dataset.t1 = t1;
}

function chartDrag() {
  const svg = $('chart');
  let start = null;
  const xOf = (ev) => Math.max(0, Math.min(svg.clientWidth, ev.clientX - svg.getBoundingClientRect().left));
  svg.addEventListener('mousedown', (ev) => { start = xOf(ev); ev.preventDefault(); });
  window.addEventListener('mousemove', (ev) => {
    if (start === null) return;
    const x = xOf(ev), sel = $('chart-sel');
    if (sel) { sel.setAttribute('x', Math.min(start, x)); sel.setAttribute('width', Math.abs(x - start)); }
  });
  window.addEventListener('mouseup', (ev) => {
    if (start === null) return;
    const x = xOf(ev), w = svg.clientWidth;
    const a = Math.min(start, x), b = Math.max(start, x);
    start = null;
    if (b - a < 3) return;
    const t0 = Number(svg.dataset.t0), t1 = Number(svg.dataset.t1) + (chartData.step_ms / 1000);
    state.from = Math.floor(t0 + (a / w) * (t1 - t0));
    state.to = Math.ceil(t0 + (b / w) * (t1 - t0));
    state.range = 'custom';
    $('range').value = 'custom';
    reload();
  });
}

// ---- the flame graph ----------------------------------------------------------------------------

// nodes: [depth, name, total, self(, total_right, self_right)] in pre-order
function layout(fg, diff) {
  const n = fg.nodes.length, out = new Array(n), next = [];
  for (let i = 0; i < n; i++) {
    const [depth, name, total, self, tr, sr] = fg.nodes[i];
    const weight = diff ? total + tr : total;
    const x = depth === 0 ? 0 : next[depth];
    next[depth] = x + weight;
    next[depth + 1] = x;
    out[i] = { i, depth, name, total, self, tr: tr || 0, sr: sr || 0, weight, x, end: n };
  }
  // each node's subtree ends where the next node at its depth or above begins
  const stack = [];
  for (let i = 0; i < n; i++) {
    while (stack.length && out[stack[stack.length - 1]].depth >= out[i].depth) out[stack.pop()].end = i;
    stack.push(i);
  }
  return out;
}

function hue(name) {
  let h = 0;
  for (let k = 0; k < name.length; k++) h = (h * 31 + name.charCodeAt(k)) >>> 0;
  return h;
}

function colour(node, diff, sums) {
  if (node.name === 'other') return '#ccc';
  if (diff) {
    const l = sums[0] ? node.total / sums[0] : 0, r = sums[1] ? node.tr / sums[1] : 0;
    const d = r - l, m = Math.max(l, r, 1e-9);
    const k = Math.min(1, Math.abs(d) / m);
    if (k < 0.05) return 'rgb(220,220,220)';
    const base = d > 0 ? [227, 74, 51] : [49, 130, 189];
    const mix = (c) => Math.round(220 + (c - 220) * k);
    return `rgb(${mix(base[0])},${mix(base[1])},${mix(base[2])})`;
  }
  const h = hue(node.name);
  if (node.name.endsWith('_[k]')) return `hsl(${190 + (h % 30)},60%,${70 + (h % 10)}%)`;
  if (node.depth === 1) return `hsl(${40 + (h % 20)},30%,80%)`;
  return `hsl(${(h % 50)},${70 + (h % 20)}%,${60 + (h % 15)}%)`;
}

function renderFlame() {
  const box = $('flame'), fg = state.flame;
  if (!fg) { box.innerHTML = ''; return; }
  const nodes = fg.laid, diff = state.diff, z = nodes[state.zoom] || nodes[0];
  const w = box.clientWidth || 1000, rowH = 18;
  const scale = z.weight ? w / z.weight : 0;
  const sums = [fg.total, fg.total_right || 0];
  let re = null;
  try { re = state.search ? new RegExp(state.search, 'i') : null; } catch (e) { re = null; }
  const parts = [];
  let maxDepth = 0, matched = 0;
  // the zoomed node's ancestors, full width
  const ancestors = [];
  for (let i = z.i - 1, d = z.depth - 1; i >= 0 && d >= 0; i--) if (nodes[i].depth === d) { ancestors.push(nodes[i]); d--; }
  const place = (nd, x, width, cls) => {
    const match = re && re.test(nd.name);
    const c = cls + (match ? ' match' : re ? ' dim' : '');
    parts.push(`<div class="node${c}" data-i="${nd.i}" style="left:${x.toFixed(1)}px;top:${nd.depth * rowH}px;width:${Math.max(width, 1).toFixed(1)}px;background:${colour(nd, diff, sums)}">${width > 30 ? esc(nd.name) : ''}</div>`);
    maxDepth = Math.max(maxDepth, nd.depth);
    return match;
  };
  for (const a of ancestors) place(a, 0, w, ' ancestor');
  let matchEnd = -1;
  for (let i = z.i; i < z.end; i++) {
    const nd = nodes[i];
    const width = nd.weight * scale;
    if (width < 0.5) continue;
    if (place(nd, (nd.x - z.x) * scale, width, '') && i >= matchEnd) { matched += diff ? nd.total + nd.tr : nd.total; matchEnd = nd.end; }
  }
  box.style.height = (maxDepth + 1) * rowH + 4 + 'px';
  box.innerHTML = parts.join('');
  $('reset-zoom').disabled = state.zoom === 0;
  const root = nodes[0];
  $('search-info').textContent = re ? `matches: ${pct(matched, root.weight)} of all samples` : '';
  $('flame-info').textContent = `${fmtValue(root.total)}${diff ? ' left, ' + fmtValue(root.tr) + ' right' : ''}` +
    (fg.folded_nodes ? `; ${fg.folded_nodes} small nodes folded into "other"` : '');
}

function tooltip(ev) {
  const tip = $('tooltip'), el = ev.target.closest('.node');
  if (!el || !state.flame) { tip.hidden = true; return; }
  const nd = state.flame.laid[Number(el.dataset.i)], root = state.flame.laid[0], z = state.flame.laid[state.zoom];
  let html = `<b>${esc(nd.name)}</b><br>`;
  if (state.diff) {
    const l = root.total ? nd.total / root.total : 0, r = root.tr ? nd.tr / root.tr : 0;
    html += `left: ${fmtValue(nd.total)} (${pct(nd.total, root.total)})<br>right: ${fmtValue(nd.tr)} (${pct(nd.tr, root.tr)})<br>` +
      `change: ${((r - l) * 100).toFixed(2)} points`;
  } else {
    html += `total: ${fmtValue(nd.total)}, ${pct(nd.total, root.total)} of all` + (state.zoom ? `, ${pct(nd.total, z.total)} of the zoomed node` : '') +
      `<br>self: ${fmtValue(nd.self)}, ${pct(nd.self, root.total)}`;
  }
  tip.innerHTML = html;
  tip.hidden = false;
  tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 540) + 'px';
  tip.style.top = ev.clientY + 14 + 'px';
}

async function loadFlame() {
  const params = Object.assign(baseParams(), { max_nodes: 4000 });
  const res = state.diff ? await api('diff', Object.assign(params, rightParams())) : await api('flamegraph', params);
  state.type = res.sample_type ? res : state.type;
  state.flame = res.flamegraph;
  state.flame.laid = layout(res.flamegraph, state.diff);
  state.zoom = 0;
  renderFlame();
}

// ---- top functions -------------------------------------------------------------------------------

async function loadTop() {
  const res = await api('top', Object.assign(baseParams(), { limit: 500 }));
  state.top = res.functions;
  state.topTotal = res.total;
  renderTop();
}

// A long (C++) name keeps its start and end around '…' to fit the table; its title has it all.
function elideMiddle(s, n) {
  const cp = Array.from(s);
  if (cp.length <= n) return s;
  const head = Math.floor((n - 1) / 2);
  return cp.slice(0, head).join('') + '\u2026' + cp.slice(cp.length - (n - 1 - head)).join('');
}

let topCharPx = 0;
// td.name's character width, measured once
function topCharWidth() {
  if (!topCharPx) {
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = '12px ui-monospace, monospace';
    topCharPx = ctx.measureText('0').width || 7.5;
  }
  return topCharPx;
}

function renderTop() {
  const key = state.sortKey;
  const box = $('top-box');
  const rows = state.top.slice().sort((a, b) => (key === 'name' ? a.name.localeCompare(b.name) : b[key] - a[key]));
  document.querySelectorAll('#top th').forEach((th) => th.classList.toggle('sorted', th.dataset.key === key));
  const fill = (chars) => {
    $('top').tBodies[0].innerHTML = rows.map((f) =>
      `<tr><td class="name" title="${esc(f.name)}">${esc(elideMiddle(f.name, chars))}</td><td class="num" title="${fmtValue(f.self)}">${pct(f.self, state.topTotal)}</td>` +
      `<td class="num" title="${fmtValue(f.total)}">${pct(f.total, state.topTotal)}</td></tr>`).join('');
  };
  // a first guess beside the two number columns (about 130 px), then narrower by what overflows
  let chars = Math.max(12, Math.floor((box.clientWidth - 130) / topCharWidth()));
  fill(chars);
  const over = box.scrollWidth - box.clientWidth;
  if (over > 0 && chars > 12) {
    chars = Math.max(12, chars - Math.ceil(over / topCharWidth()) - 1);
    fill(chars);
  }
}

// ---- wiring --------------------------------------------------------------------------------------

// the type picker: the profile types in the range; Sonde's CPU type first when there is no choice yet
async function loadTypes() {
  const types = await api('profile_types', { query: state.query || '{}', from: state.from, to: state.to });
  if (!types.includes(state.ptype)) state.ptype = types.includes(CPU_TYPE) ? CPU_TYPE : types[0] || '';
  const label = (id) => { const f = id.split(':'); return `${f[0]} - ${f[1]} (${f[2]})`; };
  $('ptype').innerHTML = types.map((t) => `<option value="${esc(t)}"${t === state.ptype ? ' selected' : ''}>${esc(label(t))}</option>`).join('');
  $('ptype').disabled = types.length < 2;
}

async function loadServices() {
  const sel = $('service');
  const names = await api('label_values', { name: 'service_name', from: state.from, to: state.to });
  const current = (state.query.match(/service_name="([^"]*)"/) || [])[1] || '';
  sel.innerHTML = '<option value="">all services</option>' +
    names.map((n) => `<option value="${esc(n)}"${n === current ? ' selected' : ''}>${esc(n)}</option>`).join('');
}

// the label picker: a name, then one of its values, added to the selector
async function loadLabelNames() {
  const names = await api('labels', { query: state.query || '{}', from: state.from, to: state.to });
  $('label-name').innerHTML = '<option value="">label…</option>' +
    names.filter((n) => n !== 'service_name').map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join('');
  $('label-value').disabled = true;
}

async function pickLabel() {
  const name = $('label-name').value, sel = $('label-value');
  sel.disabled = !name;
  if (!name) return;
  try {
    const values = await api('label_values', { name, query: state.query || '{}', from: state.from, to: state.to });
    sel.innerHTML = '<option value="">value…</option>' + values.map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join('');
  } catch (e) { showError(e); }
}

function addMatcher() {
  const name = $('label-name').value, value = $('label-value').value;
  if (!name || !value) return;
  const inner = (state.query || '').replace(/^\s*\{|\}\s*$/g, '').trim();
  const m = `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  state.query = `{${inner ? inner + ', ' : ''}${m}}`;
  $('query').value = state.query;
  reload();
}

async function reload() {
  refreshRange();
  writeUrl();
  $('left-range').textContent = `${fmtTime(state.from)} .. ${fmtTime(state.to)}`;
  $('diffbar').hidden = !state.diff;
  document.body.dataset.state = 'loading';
  try {
    showError(null);
    await loadTypes();
    writeUrl();
    await Promise.all([loadChart(), loadFlame(), loadTop(), loadServices(), loadLabelNames()]);
    drawChart(); /* in the units the flame graph's answer gave */
    document.body.dataset.state = 'ready';
  } catch (e) {
    showError(e);
    document.body.dataset.state = 'error';
  }
}

function init() {
  readUrl();
  $('query').value = state.query;
  $('range').value = state.range;
  $('diff').checked = state.diff;
  $('right-query').value = state.rightQuery;
  $('right-range').value = state.rightRange;
  $('query').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { state.query = $('query').value.trim(); reload(); } });
  $('right-query').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { state.rightQuery = $('right-query').value.trim(); reload(); } });
  $('refresh').addEventListener('click', () => { state.query = $('query').value.trim(); state.rightQuery = $('right-query').value.trim(); reload(); });
  $('service').addEventListener('change', () => {
    const v = $('service').value;
    state.query = v ? `{service_name="${v}"}` : '';
    $('query').value = state.query;
    reload();
  });
  $('ptype').addEventListener('change', () => { state.ptype = $('ptype').value; reload(); });
  $('label-name').addEventListener('change', pickLabel);
  $('label-value').addEventListener('change', addMatcher);
  $('range').addEventListener('change', () => { state.range = $('range').value; if (state.range !== 'custom') reload(); });
  $('diff').addEventListener('change', () => { state.diff = $('diff').checked; reload(); });
  $('right-range').addEventListener('change', () => { state.rightRange = $('right-range').value; reload(); });
  $('search').addEventListener('input', () => { state.search = $('search').value; renderFlame(); });
  $('reset-zoom').addEventListener('click', () => { state.zoom = 0; renderFlame(); });
  $('flame').addEventListener('click', (ev) => {
    const el = ev.target.closest('.node');
    if (el) { state.zoom = Number(el.dataset.i); renderFlame(); }
  });
  $('flame').addEventListener('mousemove', tooltip);
  $('flame').addEventListener('mouseleave', () => { $('tooltip').hidden = true; });
  document.querySelectorAll('#top th').forEach((th) => th.addEventListener('click', () => { state.sortKey = th.dataset.key; renderTop(); }));
  window.addEventListener('resize', () => { renderFlame(); if (chartData) drawChart(); });
  chartDrag();
  reload();
}

init();

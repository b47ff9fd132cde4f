// The supervisor dashboard: one page, no framework, no external assets (call centers often have no internet).
// Live data comes as Server-Sent Events read with fetch (EventSource cannot send the API key in a header, and a key in a
// URL would end up in access logs); reconnects send Last-Event-ID so a call view resumes where it stopped.
'use strict';

const COLOURS = { neutral: '#999999', happy: '#E69F00', sad: '#0072B2', angry: '#D55E00', silence: '#E8E8E8' };
const colour = label => COLOURS[label] || '#CC79A7';
const SEVERITY = { Critical: 3, Warning: 2, Info: 1 };
const $ = id => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else if (k.startsWith('on')) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};
const fmtSeconds = s => s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;

// Push latency (window stored on the server → drawn here), read by the browser test and the benchmark.
window.__pushLatencies = [];

let session = null;          // { tenant, labels, customerOnly }
let liveAbort = null;        // stops the view's event stream when the view changes

function key() { return sessionStorage.getItem('emotion-api-key'); }

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { 'X-API-KEY': key(), ...(options.headers || {}) } });
  if (res.status === 401) { logout(); throw new Error('unauthorized'); }
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

// Reads an SSE stream, reconnecting with Last-Event-ID after a drop, until signal aborts.
async function events(path, onEvent, signal) {
  let lastId = null;
  while (!signal.aborted) {
    try {
      const headers = { 'X-API-KEY': key(), Accept: 'text/event-stream' };
      if (lastId !== null) headers['Last-Event-ID'] = lastId;
      const res = await fetch(path, { headers, signal });
      if (res.status === 401) { logout(); return; }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = 'message', id = null;
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            else if (line.startsWith('id:')) id = line.slice(3).trim();
          }
          if (id !== null) lastId = id;
          if (data.length) onEvent(type, JSON.parse(data.join('\n')));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    await new Promise(r => setTimeout(r, 1000));
  }
}

function legend(target) {
  const labels = [...(session ? session.labels : Object.keys(COLOURS).slice(0, 4)), 'silence'];
  target.replaceChildren(...labels.map(l => el('span', {}, el('i', { style: `background:${colour(l)}` }), l)));
}

function labelChip(label) { return el('span', { class: `label label-${label}` }, label); }

// The customer's angry probability (0-1) as a filled line. Drawn in its own units at the CSS aspect ratio (5:1), so it scales
// evenly with the font; a hairline in a viewBox one unit high (the first version, with non-scaling-stroke) rendered too
// faint to read. The frame marks 0 and 1, the filled area makes a short rise visible at a glance.
const SPARK = { width: 160, height: 32, pad: 3 };
function sparkline(values) {
  const ns = 'http://www.w3.org/2000/svg';
  const { width, height, pad } = SPARK;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  const latest = values.length ? Math.round(100 * values[values.length - 1]) : 0;
  svg.setAttribute('aria-label', `angry probability over the last ${values.length} windows, now ${latest}%`);
  const shape = (tag, attrs) => { const n = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); svg.append(n); };
  shape('rect', { x: 0.5, y: 0.5, width: width - 1, height: height - 1, fill: '#fff', stroke: '#bbb', 'stroke-width': 1 });
  if (values.length) {
    const series = values.length === 1 ? [values[0], values[0]] : values;
    const step = (width - 2 * pad) / (series.length - 1);
    const y = v => (pad + (1 - Math.min(Math.max(v, 0), 1)) * (height - 2 * pad)).toFixed(1);
    const points = series.map((v, i) => `${(pad + i * step).toFixed(1)},${y(v)}`);
    const base = height - pad;
    shape('polygon', { points: `${pad},${base} ${points.join(' ')} ${width - pad},${base}`, fill: COLOURS.angry, 'fill-opacity': 0.3 });
    shape('polyline', { points: points.join(' '), fill: 'none', stroke: COLOURS.angry, 'stroke-width': 2.5, 'stroke-linejoin': 'round' });
  }
  return svg;
}

// ---- calls wall ----
const wallCalls = new Map();
const wallPending = []; // storedAt of the rows pushed since the last render

function attention(c) {
  return (c.openAlerts > 0 ? 1000 * (SEVERITY[c.topSeverity] || 1) : 0) + (c.customerLabel === 'angry' ? 100 : 0) + c.angrySeconds;
}

function renderWall() {
  const calls = [...wallCalls.values()].sort((a, b) => attention(b) - attention(a) || a.callId.localeCompare(b.callId));
  $('wall-count').textContent = `(${calls.length})`;
  $('wall-empty').hidden = calls.length > 0;
  // A re-draw replaces the rows: a keyboard user's focus goes back to the same call's link.
  const focused = document.activeElement?.closest('#wall-table tr')?.dataset.call;
  $('wall-table').querySelector('tbody').replaceChildren(...calls.map(c => {
    const link = el('a', { href: `#/call/${encodeURIComponent(c.callId)}` }, c.callId);
    const alerts = c.openAlerts > 0 ? el('span', { class: `badge ${c.topSeverity}`, title: `${c.openAlerts} open alerts` }, c.openAlerts) : '';
    const now = c.customerLabel ? labelChip(c.customerLabel) : el('span', { class: 'policy' }, 'waiting for speech');
    return el('tr', { class: attention(c) >= 100 ? 'attention' : '', 'data-call': c.callId },
      el('td', {}, link), el('td', { class: 'agent' }, c.agentId || '—'), el('td', { class: 'queue' }, c.queue || '—'), el('td', { class: 'now' }, now),
      el('td', {}, sparkline(c.angrySparkline)), el('td', {}, fmtSeconds(c.angrySeconds)), el('td', { class: 'alerts' }, alerts));
  }));
  if (focused) [...$('wall-table').querySelectorAll('tbody tr')].find(tr => tr.dataset.call === focused)?.querySelector('a').focus();
  const stored = wallPending.splice(0);
  if (stored.length) requestAnimationFrame(() => { const now = Date.now(); for (const t of stored) window.__pushLatencies.push(now - t); });
}

function showWall() {
  wallCalls.clear();
  renderWall();
  legend($('legend-wall'));
  events('/api/live/calls', (type, data) => {
    if (type === 'snapshot') { wallCalls.clear(); for (const c of data) wallCalls.set(c.callId, c); }
    else if (type === 'call') { wallCalls.set(data.callId, data); if (data.storedAt) wallPending.push(data.storedAt); }
    else if (type === 'ended') wallCalls.delete(data.callId);
    renderWall();
  }, liveAbort.signal);
}

// ---- call view ----
let view = null; // { callId, speakers: Map(name → {role, windows: Map(index → window)}), pending: [] }

function drawSpeaker(name, speaker) {
  const ns = 'http://www.w3.org/2000/svg';
  const windows = [...speaker.windows.values()].sort((a, b) => a.index - b.index);
  const end = Math.max(60, ...windows.map(w => w.end));
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${end} 100`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const last = windows[windows.length - 1];
  svg.setAttribute('aria-label', `${name}: ${windows.length} windows${last ? `, now ${last.votedLabel}` : ''}`);
  let previousEnd = -Infinity;
  for (const w of windows) {
    // Each window drawn over the audio it adds (windows overlap), as the voted band.
    const from = Math.max(w.start, previousEnd);
    previousEnd = w.end;
    const r = document.createElementNS(ns, 'rect');
    r.setAttribute('x', from); r.setAttribute('y', 0); r.setAttribute('width', Math.max(w.end - from, 0)); r.setAttribute('height', 22);
    r.setAttribute('fill', colour(w.votedLabel));
    svg.append(r);
  }
  for (const label of session.labels) {
    const points = windows.filter(w => w.probabilities && label in w.probabilities)
      .map(w => `${(w.start + w.end) / 2},${100 - 72 * w.probabilities[label]}`);
    if (!points.length) continue;
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none'); line.setAttribute('stroke', colour(label)); line.setAttribute('stroke-width', '2');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.append(line);
  }
  return svg;
}

function renderCall() {
  if (!view) return;
  const blocks = [];
  for (const [name, s] of [...view.speakers.entries()].sort((a, b) => (a[1].role === 'Customer' ? -1 : 1))) {
    const last = [...s.windows.values()].reduce((m, w) => (!m || w.index > m.index ? w : m), null);
    blocks.push(el('div', { class: 'speaker', 'data-speaker': name },
      el('h3', {}, `${name} (${s.role.toLowerCase()}) `, last ? labelChip(last.votedLabel) : '', s.complete ? ' ended' : ''), drawSpeaker(name, s)));
  }
  if (view.agentPolicy) blocks.push(el('div', { class: 'speaker', 'data-speaker': 'agent' }, el('h3', {}, 'agent'), el('p', { class: 'policy' }, view.agentPolicy)));
  $('speakers').replaceChildren(...blocks);
  const stored = view.pending.splice(0);
  if (stored.length) requestAnimationFrame(() => { const now = Date.now(); for (const t of stored) window.__pushLatencies.push(now - t); });
}

function renderAlerts(alerts) {
  const focused = document.activeElement?.closest('#call-alerts li')?.dataset.alert; // kept across the re-draw, as on the wall
  $('call-alerts').replaceChildren(...alerts.map(a => el('li', { 'data-alert': a.id },
    el('span', { class: `badge ${a.severity}` }, a.severity), ` ${fmtSeconds(a.callSeconds)}: ${a.description} (${a.rule}) `,
    a.acknowledged ? el('span', { class: 'acknowledged' }, `acknowledged by ${a.acknowledgedBy}`)
      : el('button', { type: 'button', class: 'ack', onclick: () => acknowledge(a) }, 'Acknowledge'))));
  if (!alerts.length) $('call-alerts').replaceChildren(el('li', {}, 'none'));
  if (focused) [...$('call-alerts').children].find(li => li.dataset.alert === focused)?.querySelector('button')?.focus();
}

async function acknowledge(alert) {
  await api(`/api/calls/${encodeURIComponent(view.callId)}/alerts/${encodeURIComponent(alert.id)}/ack`, { method: 'POST' });
}

function renderSummary(summary) {
  const entries = Object.entries(summary.speakers || {}).flatMap(([name, s]) => [
    [`${name}: dominant`, s.dominantEmotion || '—'],
    [`${name}: speech`, fmtSeconds(s.speechSeconds)],
    [`${name}: longest angry`, s.longestAngry ? fmtSeconds(s.longestAngry.seconds) : '—'],
  ]);
  $('call-summary').replaceChildren(...entries.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function showCall(callId) {
  window.__pushLatencies = []; // the call view measures its own pushes
  view = { callId, speakers: new Map(), pending: [], agentPolicy: null };
  $('call-id').textContent = callId;
  $('call-state').textContent = '';
  $('call-meta').textContent = '';
  legend($('legend-call'));
  renderAlerts([]);
  $('call-summary').replaceChildren();
  const speaker = (name, role) => {
    if (!view.speakers.has(name)) view.speakers.set(name, { role, windows: new Map(), complete: false });
    return view.speakers.get(name);
  };
  events(`/api/live/calls/${encodeURIComponent(callId)}`, (type, data) => {
    if (type === 'resync') { view.speakers.clear(); }
    else if (type === 'call') {
      view.agentPolicy = data.agentPolicy;
      $('call-state').textContent = data.active ? '(live)' : '(ended)';
      $('call-meta').textContent = [data.agentId && `agent ${data.agentId}`, data.queue && `queue ${data.queue}`].filter(Boolean).join(', ');
      for (const s of data.speakers) speaker(s.speaker, s.role).complete = s.isComplete;
    }
    else if (type === 'window') {
      speaker(data.speaker, data.role).windows.set(data.window.index, data.window);
      if (data.storedAt) view.pending.push(data.storedAt); // null: stored before the stream opened, not a push
    }
    else if (type === 'alerts') renderAlerts(data);
    else if (type === 'summary') renderSummary(data);
    else if (type === 'notfound') { $('call-state').textContent = '(unknown call)'; }
    scheduleCallRender();
  }, liveAbort.signal);
}

let renderQueued = false;
function scheduleCallRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; renderCall(); });
}

// ---- history ----
let historyCursor = null;

async function loadHistory(append) {
  const form = new FormData($('history-form'));
  const query = new URLSearchParams({ state: 'ended', limit: '50' });
  for (const name of ['agent', 'queue', 'emotion']) if (form.get(name)) query.set(name, form.get(name));
  for (const name of ['from', 'to']) if (form.get(name)) query.set(name, new Date(form.get(name)).toISOString());
  if (append && historyCursor) query.set('cursor', historyCursor);
  const page = await api(`/api/calls?${query}`);
  historyCursor = page.next;
  $('history-more').hidden = !page.next;
  const rows = page.calls.map(c => el('tr', { 'data-call': c.callId },
    el('td', {}, el('a', { href: `#/call/${encodeURIComponent(c.callId)}` }, c.callId)), el('td', {}, new Date(c.lastUpdate).toLocaleString()),
    el('td', { class: 'agent' }, c.agentId || '—'), el('td', { class: 'queue' }, c.queue || '—'),
    el('td', { class: 'dominant' }, c.customerDominant ? labelChip(c.customerDominant) : '—'),
    el('td', {}, fmtSeconds(c.angrySeconds)), el('td', {}, c.alerts)));
  const body = $('history-table').querySelector('tbody');
  if (append) body.append(...rows); else body.replaceChildren(...rows);
}

function showHistory() {
  const select = $('history-form').elements.emotion;
  if (select.options.length === 1) for (const l of session.labels) select.append(el('option', { value: l }, l));
  loadHistory(false);
}

// ---- routing and login ----
function route() {
  if (liveAbort) liveAbort.abort();
  liveAbort = new AbortController();
  view = null;
  for (const id of ['login', 'wall', 'call', 'history']) $(id).hidden = true;
  if (!session) { $('login').hidden = false; $('api-key').focus(); return; }
  const [, page, arg] = location.hash.split('/');
  if (page === 'call' && arg) { $('call').hidden = false; showCall(decodeURIComponent(arg)); }
  else if (page === 'history') { $('history').hidden = false; showHistory(); }
  else { $('wall').hidden = false; showWall(); }
}

async function login(apiKey) {
  sessionStorage.setItem('emotion-api-key', apiKey);
  const res = await fetch('/api/session', { headers: { 'X-API-KEY': apiKey } });
  if (!res.ok) { sessionStorage.removeItem('emotion-api-key'); return false; }
  session = await res.json();
  $('tenant').textContent = `tenant ${session.tenant}`;
  $('logout').hidden = false;
  return true;
}

function logout() {
  sessionStorage.removeItem('emotion-api-key');
  session = null;
  $('tenant').textContent = '';
  $('logout').hidden = true;
  route();
}

$('login-form').addEventListener('submit', async e => {
  e.preventDefault();
  $('login-error').textContent = '';
  if (await login($('api-key').value)) { $('api-key').value = ''; if (!location.hash || location.hash === '#/') location.hash = '#/wall'; else route(); }
  else $('login-error').textContent = 'That key is not valid for any tenant.';
});
$('logout').addEventListener('click', logout);
$('history-form').addEventListener('submit', e => { e.preventDefault(); loadHistory(false); });
$('history-more').addEventListener('click', () => loadHistory(true));
window.addEventListener('hashchange', route);

(async () => { if (key() && !(await login(key()))) session = null; route(); })();

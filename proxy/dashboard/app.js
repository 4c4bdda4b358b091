// The chatha cluster dashboard. It polls the proxy that served it for
// GET /v1/dashboard every 2 seconds (members, events, history) and
// GET /v1/kpi every 5 seconds, and draws everything itself: no library, no
// build step, nothing loaded from elsewhere. With a cluster token set on the
// proxy, the token comes from the URL fragment (#token=...), which browsers
// never send to a server, or from the form, and goes out only as an
// Authorization: Bearer header.
//
// Served through `chatha demo`, whose own front door answers GET
// /demo/processes, the page also gives every chat node a button that kills
// its process with SIGKILL. The proxy serves no such endpoint: anywhere
// else that request is answered 404, once, and no button shows.
'use strict';
(function () {
  const POLL_MS = 2000;
  const KPI_MS = 5000;
  const WINDOW_MS = 15 * 60 * 1000;
  const TOKEN_KEY = 'chatha-cluster-token';
  const $ = (id) => document.getElementById(id);

  let token = takeToken();

  // takeToken moves a token in the URL fragment to session storage and out
  // of the address bar, and returns the token to use.
  function takeToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }

  class Unauthorized extends Error {}

  async function get(path) {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    const resp = await fetch(path, { headers, cache: 'no-store', credentials: 'omit' });
    if (resp.status === 401) throw new Unauthorized(path);
    if (!resp.ok) throw new Error(path + ': HTTP ' + resp.status);
    return resp.json();
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  const pct = (x) => (100 * x).toFixed(1) + '%';
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

  function age(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }

  function micros(us) {
    if (!us) return '–';
    return us < 1000 ? us + ' µs' : (us / 1000).toFixed(1) + ' ms';
  }

  function share(x, cls) {
    return el('span', { class: 'share ' + cls },
      el('span', { class: 'bar' }, el('i', { style: '' })), el('span', { class: 'value' }, pct(x)));
  }

  const departed = (m) => m.state === 'dead' || m.state === 'left';

  // demo holds the demo's processes by name, once GET /demo/processes has
  // answered; demoAbsent is set when it answered anything else.
  let demo = null;
  let demoAbsent = false;

  async function pollDemo() {
    try {
      const resp = await fetch('/demo/processes', { cache: 'no-store', credentials: 'omit' });
      if (!resp.ok) {
        demoAbsent = true;
        demo = null;
        return;
      }
      demo = Object.fromEntries((await resp.json()).processes.map((p) => [p.name, p]));
    } catch (e) {
      // unreachable: ask again next time
    }
  }

  // killButton returns the demo's button that kills chat node m, or ''.
  function killButton(m) {
    const p = demo && demo[m.name];
    if (!p || !p.running || m.role !== 'node' || departed(m)) return '';
    const b = el('button', { type: 'button', class: 'kill', 'data-member': m.name,
      title: 'kill -9 ' + p.pid + ': ' + m.name + ' ends as in a crash, and its chats go on on the other nodes' }, 'kill -9');
    b.addEventListener('click', () => kill(m.name, b));
    return el('span', {}, el('span', { class: 'pid' }, 'pid ' + p.pid), b);
  }

  async function kill(name, b) {
    b.disabled = true;
    b.textContent = 'killing…';
    try {
      const resp = await fetch('/demo/processes/' + encodeURIComponent(name) + '/kill',
        { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', credentials: 'omit' });
      if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).error || 'HTTP ' + resp.status);
    } catch (e) {
      status('cannot kill ' + name + ': ' + e.message, false); // until the next poll
      return;
    }
    poll();
  }

  function order(a, b) {
    return (departed(a) - departed(b)) || (a.role === 'node' ? 0 : 1) - (b.role === 'node' ? 0 : 1) ||
      a.name.localeCompare(b.name) || b.incarnation - a.incarnation;
  }

  function renderMembers(d) {
    const body = $('members').tBodies[0];
    const rows = [];
    for (const m of d.members.slice().sort(order)) {
      const node = m.role === 'node';
      const place = share(node && !departed(m) ? m.placementShare : 0, 'place');
      const succ = share(node && !departed(m) ? m.successorShare : 0, 'successor');
      place.querySelector('i').style.width = pct(node && !departed(m) ? m.placementShare : 0);
      succ.querySelector('i').style.width = pct(node && !departed(m) ? m.successorShare : 0);
      const tr = el('tr', { 'data-member': m.name, 'data-role': m.role, 'data-state': m.state, 'data-incarnation': String(m.incarnation) },
        el('td', { class: 'name' }, m.name, killButton(m)),
        el('td', {}, m.role),
        el('td', { class: 'state' }, el('span', { class: 'badge ' + m.state }, m.state)),
        el('td', { class: 'mode' }, node ? m.mode : '–'),
        el('td', { class: 'num sessions' }, node ? m.sessions : '–'),
        el('td', {}, node ? place : '–'),
        el('td', {}, node ? succ : '–'),
        el('td', { class: 'num' }, m.incarnation),
        el('td', { class: 'num' }, departed(m) ? '–' : age(d.now - m.startedAt)),
        el('td', { class: 'num health' }, departed(m) ? '–' : m.healthScore),
        el('td', { class: 'num' }, departed(m) ? '–' : micros(m.probeRttMicros)),
        el('td', { class: 'num' }, departed(m) ? '–' : micros(m.rttFromProxyMicros)),
        el('td', { class: 'num' }, m.suspicions + ' / ' + m.refutations));
      if (departed(m)) tr.classList.add('departed');
      if (m.broken) tr.classList.add('broken');
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    $('alive').textContent = d.members.filter((m) => m.role === 'node' && m.state === 'alive').length;
  }

  function renderEvents(d) {
    const items = d.events.slice().reverse().map((e) =>
      el('li', { 'data-kind': e.kind, 'data-member': e.member },
        el('time', {}, clock(e.at)), el('span', { class: 'kind ' + e.kind }, e.kind),
        el('span', { class: 'member' }, e.member), el('span', { class: 'detail' }, e.detail || '')));
    $('events').replaceChildren(...items);
  }

  // The charts: each series of the history, as a rate or a count per sample.
  const CHARTS = [
    { key: 'requests', title: 'Requests', unit: '/s', rate: true, color: '#2b6cb0' },
    { key: 'errors', title: 'Errors (5xx)', unit: '/s', rate: true, color: '#c53030' },
    { key: 'failovers', title: 'Failovers', unit: 'per sample', color: '#dd6b20' },
    { key: 'restores', title: 'Restores', unit: 'per sample', color: '#2f855a' },
    { key: 'purges', title: 'Purges', unit: 'per sample', color: '#6b46c1' },
  ];

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }

  // chart draws one series of the history as columns, one per sample, on
  // the 15-minute window ending now, scaled to its peak.
  function chart(spec, d) {
    const W = 300, H = 110, top = 8, bottom = 16, left = 4, right = 4;
    const t1 = d.now, t0 = t1 - WINDOW_MS;
    const per = d.sampleSeconds || 1;
    const pts = d.history.filter((s) => s.at >= t0).map((s) => [s.at, spec.rate ? s[spec.key] / per : s[spec.key]]);
    const peak = Math.max(0, ...pts.map((p) => p[1]));
    const x = (t) => left + ((t - t0) / WINDOW_MS) * (W - left - right);
    const bw = Math.max(2, ((W - left - right) * per * 1000) / WINDOW_MS);
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img' });
    root.append(svg('line', { class: 'axis', x1: left, x2: W - right, y1: H - bottom, y2: H - bottom }));
    for (const [at, v] of pts) {
      if (v <= 0) continue;
      const h = (v / peak) * (H - top - bottom);
      root.append(svg('rect', { x: (x(at) - bw).toFixed(1), y: (H - bottom - h).toFixed(1), width: bw.toFixed(1), height: h.toFixed(1), fill: spec.color }));
    }
    const lab = (tx, ax, ay, anchor) => { const t = svg('text', { class: 'label', x: ax, y: ay, 'text-anchor': anchor }); t.textContent = tx; return t; };
    root.append(lab('-15m', left, H - 3, 'start'), lab('now', W - right, H - 3, 'end'));
    const last = pts.length ? pts[pts.length - 1][1] : 0;
    const fmt = (v) => (spec.rate ? v.toFixed(v < 10 ? 1 : 0) : String(Math.round(v)));
    return el('div', { class: 'chart', 'data-chart': spec.key },
      el('h3', {}, spec.title + ' ', el('span', {}, `now ${fmt(last)} ${spec.unit}, peak ${fmt(peak)}`)), root);
  }

  function renderCharts(d) {
    $('charts').replaceChildren(...CHARTS.map((c) => chart(c, d)));
  }

  function renderKPI(k) {
    const rows = Object.entries(k.total).filter(([name]) => name !== 'node' && name !== 'mode').sort()
      .map(([name, v]) => el('tr', { 'data-kpi': name }, el('td', {}, name), el('td', { class: 'num' }, v)));
    $('kpi').tBodies[0].replaceChildren(...rows);
  }

  function status(text, ok) {
    const s = $('status');
    s.textContent = text;
    s.className = 'status ' + (ok ? 'ok' : 'bad');
  }

  function askToken() {
    status('the cluster token is needed', false);
    if (!$('login').hidden) return;
    $('login').hidden = false;
    $('main').hidden = true;
    $('token').focus();
  }

  let lastKPI = 0;
  async function poll() {
    try {
      if (!demoAbsent) await pollDemo();
      const d = await get('/v1/dashboard');
      $('proxy').textContent = d.proxy;
      $('ring').textContent = d.ringChecksum;
      renderMembers(d);
      renderEvents(d);
      renderCharts(d);
      if (Date.now() - lastKPI >= KPI_MS) {
        lastKPI = Date.now();
        renderKPI(await get('/v1/kpi'));
      }
      $('login').hidden = true;
      $('main').hidden = false;
      status('updated ' + clock(d.now), true);
      document.body.dataset.updated = String(d.now);
    } catch (e) {
      if (e instanceof Unauthorized) return askToken();
      status('proxy unreachable: ' + e.message, false);
    }
  }

  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    lastKPI = 0;
    poll();
  });

  poll();
  setInterval(poll, POLL_MS);
})();

// ctxguard review: the quarantine queue in the browser.
//
// Everything this page shows about an item came from an MCP server that
// may be hostile. It is inserted with textContent and createTextNode only:
// never innerHTML, never an href or src taken from data. Class names are
// taken from fixed lists.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  const SEVERITIES = ['low', 'medium', 'high', 'critical'];
  const STATUSES = ['pending', 'released', 'rejected'];
  const sevRank = (s) => SEVERITIES.indexOf(s) + 1;
  const sevClass = (s) => 'sev-' + (SEVERITIES.includes(s) ? s : 'none');
  const statusClass = (s) => 'status-' + (STATUSES.includes(s) ? s : 'unknown');

  const state = {
    me: null,
    csrf: '',
    items: new Map(), // id → summary, the listing
    order: [], // ids of the listing, in order
    rows: new Map(), // id → its <tr>
    selected: -1,
    mode: 'list',
    next: '',
    nextOffset: 0,
    loading: false,
    liveDuringLoad: [],
    missedWhileSearching: 0,
    open: null, // the open item's detail
    busy: false,
    wsDelay: 500,
    started: false,
  };

  // Invisible and direction-changing characters are shown as their code
  // points, so that hidden text and reordered text cannot fool a reviewer.
  const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDC7F]/g;

  // appendText adds s to parent as text.
  function appendText(parent, s) {
    s = s === undefined || s === null ? '' : String(s);
    let last = 0;
    for (const m of s.matchAll(INVISIBLE)) {
      if (m.index > last) parent.appendChild(document.createTextNode(s.slice(last, m.index)));
      const span = document.createElement('span');
      span.className = 'invisible';
      span.title = 'invisible or direction-changing character';
      span.textContent = 'U+' + m[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
      parent.appendChild(span);
      last = m.index + m[0].length;
    }
    if (last < s.length) parent.appendChild(document.createTextNode(s.slice(last)));
    return parent;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) appendText(e, text);
    return e;
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
  }

  function fmtTime(s) {
    const d = new Date(s);
    return isNaN(d) ? String(s) : d.toLocaleString();
  }

  let errorTimer = 0;
  function showError(msg) {
    const e = $('error');
    e.textContent = String(msg);
    e.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { e.hidden = true; }, 8000);
  }

  // api calls the JSON API; a state change carries the CSRF token.
  async function api(path, opts = {}) {
    const method = opts.method || 'GET';
    const headers = { Accept: 'application/json' };
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    if (method !== 'GET') headers['X-CSRF-Token'] = state.csrf;
    const res = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
    if (res.status === 401) {
      location.assign('/login');
      throw new Error('signed out');
    }
    let data = null;
    try { data = await res.json(); } catch (_) { /* no body */ }
    if (!res.ok) throw new Error((data && typeof data.error === 'string') ? data.error : res.status + ' ' + res.statusText);
    return data;
  }

  // ---- the queue ----

  function readFilters() {
    return {
      status: $('f-status').value,
      server: $('f-server').value.trim(),
      detector: $('f-detector').value.trim(),
      severity: $('f-severity').value,
      since: $('f-since').value,
      q: $('f-q').value.trim(),
    };
  }

  const sinceMS = { '1h': 3600e3, '24h': 86400e3, '168h': 7 * 86400e3, '720h': 30 * 86400e3 };

  // matches reports whether a live item belongs in the listing.
  function matches(s) {
    const f = readFilters();
    if (f.status !== 'all' && s.status !== f.status) return false;
    if (f.server && s.server !== f.server) return false;
    if (f.detector && !(s.detectors || []).includes(f.detector.split('.')[0])) return false;
    if (f.severity && sevRank(s.severity) < sevRank(f.severity)) return false;
    if (f.since && Date.now() - new Date(s.created_at).getTime() > sinceMS[f.since]) return false;
    return true;
  }

  async function load(more) {
    const f = readFilters();
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
    if (more && state.mode === 'search') p.set('offset', String(state.nextOffset));
    else if (more) p.set('before', state.next);
    state.loading = true;
    state.liveDuringLoad = [];
    let data;
    try {
      data = await api('/api/items?' + p.toString());
    } catch (e) {
      state.loading = false;
      showError(e.message);
      return;
    }
    state.loading = false;
    if (!more) {
      state.items.clear();
      state.order = [];
      state.selected = -1;
      state.missedWhileSearching = 0;
    }
    state.mode = data.mode;
    state.next = data.next || '';
    state.nextOffset = data.next_offset || 0;
    for (const s of data.items) {
      if (!state.items.has(s.id)) state.order.push(s.id);
      state.items.set(s.id, s);
    }
    if (state.selected < 0 && state.order.length) state.selected = 0;
    const missed = state.liveDuringLoad;
    state.liveDuringLoad = [];
    for (const s of missed) onLive(s);
    renderQueueNote(data);
    renderList();
  }

  function renderQueueNote(data) {
    const n = $('queue-note');
    let text = '';
    if (state.mode === 'search') text = (data && data.total !== undefined ? data.total : state.order.length) + ' matches (full-text search, newest first).';
    if (state.mode === 'filter') text = 'Items containing every word, newest first (no full-text index).';
    if (state.missedWhileSearching) text += ' ' + state.missedWhileSearching + ' new items arrived: search again to include them.';
    n.textContent = text.trim();
    n.hidden = !text;
  }

  // onLive takes an item held or triaged somewhere.
  function onLive(s) {
    if (state.loading) {
      state.liveDuringLoad.push(s);
      return;
    }
    if (state.items.has(s.id)) {
      state.items.set(s.id, s);
    } else if (matches(s)) {
      if (state.mode !== 'list') {
        state.missedWhileSearching++;
        renderQueueNote();
      } else {
        // Ids sort by time: put it in its place, newest first.
        let i = 0;
        while (i < state.order.length && state.order[i] > s.id) i++;
        state.order.splice(i, 0, s.id);
        state.items.set(s.id, s);
        if (state.selected >= i) state.selected++;
        if (state.selected < 0) state.selected = 0;
      }
    }
    renderList();
    if (state.open && state.open.item.id === s.id && !state.busy) refreshOpen();
  }

  function fillRow(tr, s) {
    clear(tr);
    tr.className = s.status === 'pending' ? '' : 'done';
    tr.appendChild(el('td', 'time', fmtTime(s.created_at)));
    const st = el('td');
    st.appendChild(el('span', 'status ' + statusClass(s.status), s.status));
    tr.appendChild(st);
    const sev = el('td');
    sev.appendChild(el('span', 'sev ' + sevClass(s.severity), s.severity || '—'));
    tr.appendChild(sev);
    tr.appendChild(el('td', 'num', typeof s.score === 'number' ? s.score.toFixed(2) : ''));
    tr.appendChild(el('td', 'server', s.server));
    tr.appendChild(el('td', 'uri', s.uri || (s.tool ? 'tool: ' + s.tool : '')));
    tr.appendChild(el('td', 'detectors', (s.detectors || []).join(', ')));
  }

  function renderList() {
    const tbody = $('rows');
    let prev = null;
    const shown = new Set();
    state.order.forEach((id, i) => {
      const s = state.items.get(id);
      let tr = state.rows.get(id);
      if (!tr) {
        tr = document.createElement('tr');
        tr.dataset.id = id;
        // When the row first showed, for measuring how long an item takes
        // from the quarantine to the reviewer's screen.
        tr.dataset.shownAt = String(performance.timeOrigin + performance.now());
        tr.addEventListener('click', () => { state.selected = state.order.indexOf(id); openItem(id); });
        state.rows.set(id, tr);
      }
      if (tr.summary !== s) {
        fillRow(tr, s);
        tr.summary = s;
      }
      tr.classList.toggle('selected', i === state.selected);
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== tr) tbody.insertBefore(tr, want);
      prev = tr;
      shown.add(id);
    });
    for (const [id, tr] of state.rows) {
      if (!shown.has(id)) {
        tr.remove();
        state.rows.delete(id);
      }
    }
    $('empty').hidden = state.order.length > 0;
    $('more').hidden = !(state.next || state.nextOffset);
  }

  function select(i) {
    if (!state.order.length) return;
    state.selected = Math.max(0, Math.min(state.order.length - 1, i));
    renderList();
    const tr = state.rows.get(state.order[state.selected]);
    if (tr) tr.scrollIntoView({ block: 'nearest' });
  }

  // move goes to the next (1) or previous (-1) item: in the item view it
  // opens it.
  function move(d) {
    if (!state.order.length) return;
    let i = state.selected;
    if (state.open && !$('item').hidden) {
      const at = state.order.indexOf(state.open.item.id);
      if (at >= 0) i = at;
    }
    const j = Math.max(0, Math.min(state.order.length - 1, i + d));
    select(j);
    if (!$('item').hidden && state.order[j] !== (state.open && state.open.item.id)) openItem(state.order[j]);
  }

  // ---- one item ----

  function openItem(id) {
    location.hash = '#item/' + encodeURIComponent(id);
  }

  function route() {
    const m = /^#item\/(.+)$/.exec(location.hash);
    if (!m) {
      showQueue();
      return;
    }
    let id;
    try { id = decodeURIComponent(m[1]); } catch (_) { showQueue(); return; }
    showItem(id);
  }

  function showQueue() {
    $('item').hidden = true;
    $('queue').hidden = false;
    state.open = null;
    if (location.hash) history.replaceState(null, '', location.pathname);
    const tr = state.rows.get(state.order[state.selected]);
    if (tr) tr.scrollIntoView({ block: 'nearest' });
  }

  async function showItem(id) {
    let d;
    try {
      d = await api('/api/items/' + encodeURIComponent(id));
    } catch (e) {
      showError(e.message);
      return;
    }
    const fresh = !state.open || state.open.item.id !== id;
    state.open = d;
    const i = state.order.indexOf(id);
    if (i >= 0) state.selected = i;
    renderItem(d, fresh);
    $('queue').hidden = true;
    $('item').hidden = false;
    if (fresh) window.scrollTo(0, 0);
  }

  async function refreshOpen() {
    try {
      const d = await api('/api/items/' + encodeURIComponent(state.open.item.id));
      if (state.open && state.open.item.id === d.item.id) {
        state.open = d;
        renderItem(d, false);
      }
    } catch (e) {
      showError(e.message);
    }
  }

  function addMeta(dl, name, value) {
    if (value === undefined || value === null || value === '') return;
    dl.appendChild(el('dt', '', name));
    dl.appendChild(el('dd', '', value));
  }

  function renderItem(d, fresh) {
    const it = d.item;
    $('item-id').textContent = it.id;
    const st = $('item-status');
    st.textContent = it.status;
    st.className = 'status ' + statusClass(it.status);
    const i = state.order.indexOf(it.id);
    $('item-pos').textContent = i >= 0 ? (i + 1) + ' of ' + state.order.length : '';

    const meta = $('item-meta');
    clear(meta);
    addMeta(meta, 'Server', it.server);
    addMeta(meta, 'URI', it.uri);
    addMeta(meta, 'Tool', it.tool);
    addMeta(meta, 'Score', typeof it.score === 'number' ? it.score.toFixed(2) : '');
    addMeta(meta, 'Severity', d.severity || 'none');
    addMeta(meta, 'Held at', fmtTime(it.created_at));
    addMeta(meta, 'Client', it.withheld ? 'got a placeholder (withheld)' : 'got the content (monitor mode)');
    addMeta(meta, 'SHA-256', it.sha256);
    addMeta(meta, 'Size', it.content_size + ' bytes');

    const reasons = $('item-reasons');
    clear(reasons);
    for (const r of it.reasons || []) reasons.appendChild(el('li', '', r));

    if (fresh) {
      $('note').value = '';
      $('action-result').textContent = '';
      document.querySelector('input[name=scope][value=uri]').checked = true;
    }

    const note = $('content-note');
    if (it.binary) {
      note.textContent = 'Binary content: only its checksum is kept.';
    } else if (it.content_truncated) {
      note.textContent = 'The content is cut at the queue\'s bound: ' + it.content_size + ' bytes in all.';
    } else {
      note.textContent = '';
    }
    note.hidden = !note.textContent;
    renderContent($('content'), it.content || '', d.highlights || [], it.findings || []);
    renderFindings(it.findings || [], d.highlights || []);
    renderBaseline(it.record && it.record.baseline, d.diff || []);
    renderRecord(it.record || {});
    renderHistory(it.history || []);
  }

  // renderContent shows the content with each finding's span marked. The
  // spans are UTF-16 offsets (the server converted the byte offsets); a
  // piece covered by several findings is marked once, with all of them.
  function renderContent(pre, text, hls, findings) {
    clear(pre);
    const cuts = new Set([0, text.length]);
    for (const h of hls) {
      if (h.start >= 0 && h.end <= text.length && h.start < h.end) {
        cuts.add(h.start);
        cuts.add(h.end);
      }
    }
    const pts = [...cuts].sort((a, b) => a - b);
    for (let k = 0; k + 1 < pts.length; k++) {
      const a = pts[k];
      const b = pts[k + 1];
      const piece = text.slice(a, b);
      const cover = hls.filter((h) => h.start <= a && h.end >= b);
      if (!cover.length) {
        appendText(pre, piece);
        continue;
      }
      let top = '';
      const titles = [];
      for (const h of cover) {
        const f = findings[h.finding] || {};
        if (sevRank(f.severity) > sevRank(top)) top = f.severity;
        titles.push('#' + (h.finding + 1) + ' ' + f.detector + '.' + f.rule + ' (' + f.severity + ')' + (f.note ? ': ' + f.note : ''));
      }
      const mark = el('mark', sevClass(top));
      mark.dataset.findings = cover.map((h) => String(h.finding)).join(' ');
      mark.title = titles.join('\n');
      appendText(mark, piece);
      pre.appendChild(mark);
    }
  }

  function renderFindings(findings, hls) {
    const tbody = $('finding-rows');
    clear(tbody);
    findings.forEach((f, i) => {
      const tr = el('tr');
      tr.appendChild(el('td', 'num', String(i + 1)));
      tr.appendChild(el('td', '', f.detector + '.' + f.rule));
      const sev = el('td');
      sev.appendChild(el('span', 'sev ' + sevClass(f.severity), f.severity));
      tr.appendChild(sev);
      tr.appendChild(el('td', 'num', f.start + '–' + f.end));
      tr.appendChild(el('td', '', f.note || ''));
      if (hls.some((h) => h.finding === i)) {
        tr.classList.add('jump');
        tr.title = 'Show in the content';
        tr.addEventListener('click', () => {
          for (const m of $('content').querySelectorAll('mark')) {
            if (m.dataset.findings.split(' ').includes(String(i))) {
              m.scrollIntoView({ block: 'center' });
              m.classList.add('flash');
              setTimeout(() => m.classList.remove('flash'), 1200);
              break;
            }
          }
        });
      }
      tbody.appendChild(tr);
    });
    if (!findings.length) {
      const tr = el('tr');
      const td = el('td', 'note', 'No detector findings (held for another reason).');
      td.colSpan = 5;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
  }

  function renderBaseline(b, rows) {
    const dl = $('baseline-meta');
    clear(dl);
    const table = $('diff');
    const tbody = $('diff-rows');
    clear(tbody);
    if (!b) {
      addMeta(dl, 'Status', 'not checked against a baseline');
      table.hidden = true;
      return;
    }
    addMeta(dl, 'Status', b.status);
    addMeta(dl, 'Manifest', b.manifest);
    addMeta(dl, 'Sequence', b.sequence);
    addMeta(dl, 'Signer', b.signer);
    addMeta(dl, 'Signed SHA-256', b.expected_sha256);
    addMeta(dl, 'Required', b.required ? 'a signature is required here' : '');
    addMeta(dl, 'Reason', b.reason);
    addMeta(dl, 'Diff', b.diff_truncated ? 'cut at its bound' : '');
    for (const r of rows) {
      const tr = el('tr', 'diff-' + (['hunk', 'same', 'change', 'del', 'add', 'note'].includes(r.kind) ? r.kind : 'same'));
      if (r.kind === 'hunk' || r.kind === 'note') {
        const td = el('td', 'hunk', r.left);
        td.colSpan = 4;
        tr.appendChild(td);
      } else {
        const left = r.kind !== 'add';
        const right = r.kind !== 'del';
        tr.appendChild(el('td', 'ln', left ? String(r.left_n) : ''));
        tr.appendChild(el('td', 'code ' + (left && r.kind !== 'same' ? 'del' : ''), left ? r.left : ''));
        tr.appendChild(el('td', 'ln', right ? String(r.right_n) : ''));
        tr.appendChild(el('td', 'code ' + (right && r.kind !== 'same' ? 'add' : ''), right ? r.right : ''));
      }
      tbody.appendChild(tr);
    }
    table.hidden = rows.length === 0;
  }

  function renderRecord(rec) {
    const dl = $('record-meta');
    clear(dl);
    addMeta(dl, 'Server', rec.server);
    addMeta(dl, 'Transport', rec.transport);
    addMeta(dl, 'Session', rec.session);
    if (rec.client) addMeta(dl, 'Client', [rec.client.name, rec.client.version].filter(Boolean).join(' '));
    addMeta(dl, 'Protocol', rec.protocol_version);
    addMeta(dl, 'Message', [rec.message, rec.method].filter(Boolean).join(' '));
    if (rec.request_id !== undefined) addMeta(dl, 'Request id', JSON.stringify(rec.request_id));
    addMeta(dl, 'URI', rec.uri);
    addMeta(dl, 'Tool', rec.tool);
    addMeta(dl, 'Prompt', rec.prompt);
    addMeta(dl, 'Path', rec.path);
    addMeta(dl, 'Kind', [rec.kind, rec.mime_type].filter(Boolean).join(', '));
    addMeta(dl, 'Verdict', rec.verdict);
    addMeta(dl, 'Decision', rec.decision);
    addMeta(dl, 'Record', rec.seq ? '#' + rec.seq + ' at ' + fmtTime(rec.time) : '');
    addMeta(dl, 'xxHash64', rec.xxhash64);
    const copy = JSON.parse(JSON.stringify(rec));
    if (copy.baseline && copy.baseline.diff) copy.baseline.diff = '(shown above)';
    $('record-json').textContent = JSON.stringify(copy, null, 2);
  }

  function renderHistory(hist) {
    const ol = $('history');
    clear(ol);
    for (const a of hist) {
      let line = fmtTime(a.at) + ' — ' + a.action;
      if (a.reviewer) line += ' by ' + a.reviewer;
      if (a.scope) line += ' (' + a.scope + ')';
      const li = el('li', '', line);
      if (a.note) li.appendChild(el('div', 'hist-note', a.note));
      ol.appendChild(li);
    }
  }

  async function act(action) {
    if (!state.open || $('item').hidden || state.busy) return;
    const id = state.open.item.id;
    const body = { note: $('note').value };
    if (action === 'release') body.scope = document.querySelector('input[name=scope]:checked').value;
    state.busy = true;
    $('release').disabled = true;
    $('reject').disabled = true;
    $('action-result').textContent = action === 'release' ? 'Releasing…' : 'Rejecting…';
    try {
      const d = await api('/api/items/' + encodeURIComponent(id) + '/' + action, { method: 'POST', body });
      if (state.open && state.open.item.id === id) {
        state.open = d;
        renderItem(d, false);
        $('note').value = '';
        $('action-result').textContent = action === 'release' ? 'Released. ' + (d.rescan || '') : 'Rejected.';
      }
      const s = state.items.get(id);
      if (s) {
        state.items.set(id, Object.assign({}, s, { status: d.item.status }));
        renderList();
      }
    } catch (e) {
      $('action-result').textContent = '';
      showError(e.message);
    } finally {
      state.busy = false;
      $('release').disabled = false;
      $('reject').disabled = false;
    }
  }

  // ---- live updates ----

  function setLive(on) {
    const l = $('live');
    l.textContent = on ? 'live' : 'offline';
    l.className = 'live ' + (on ? 'on' : 'off');
    document.body.dataset.live = on ? 'on' : 'off';
  }

  // connect opens the live socket and returns a promise that settles when
  // it is open (or failed), so that the first listing is read after it:
  // nothing that changes in between is missed.
  function connect() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/live');
    const opened = new Promise((resolve) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('close', resolve, { once: true });
      setTimeout(resolve, 3000);
    });
    ws.onopen = () => {
      setLive(true);
      state.wsDelay = 500;
      // Whatever happened while the socket was down is in the listing.
      if (state.started) load(false);
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (_) { return; }
      if (m && m.type === 'item' && m.item && typeof m.item.id === 'string') onLive(m.item);
    };
    ws.onclose = () => {
      setLive(false);
      setTimeout(connect, state.wsDelay);
      state.wsDelay = Math.min(state.wsDelay * 2, 15000);
    };
    return opened;
  }

  // ---- keys and buttons ----

  function toggleHelp(on) {
    $('help').hidden = on === undefined ? !$('help').hidden : !on;
  }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) {
      if (e.key === 'Escape') t.blur();
      return;
    }
    const inItem = !$('item').hidden;
    switch (e.key) {
      case 'j': move(1); break;
      case 'k': move(-1); break;
      case 'Enter':
        if (inItem || state.selected < 0) return;
        openItem(state.order[state.selected]);
        break;
      case 'r': if (inItem) act('release'); break;
      case 'x': if (inItem) act('reject'); break;
      case '/':
        toggleHelp(false);
        if (inItem) showQueue();
        // Focus on key up, so that the slash itself is not typed into
        // the box.
        state.searchOnKeyUp = true;
        break;
      case '?': toggleHelp(); break;
      case 'Escape':
        if (!$('help').hidden) toggleHelp(false);
        else if (inItem) showQueue();
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  async function start() {
    document.addEventListener('keydown', onKey);
    document.addEventListener('keyup', (e) => {
      if (state.searchOnKeyUp && e.key === '/') {
        state.searchOnKeyUp = false;
        $('f-q').focus();
        $('f-q').select();
      }
    });
    window.addEventListener('hashchange', route);
    $('filters').addEventListener('submit', (e) => { e.preventDefault(); load(false); });
    for (const id of ['f-status', 'f-severity', 'f-since']) $(id).addEventListener('change', () => load(false));
    $('more').addEventListener('click', () => load(true));
    $('back').addEventListener('click', showQueue);
    $('home').addEventListener('click', (e) => { e.preventDefault(); showQueue(); });
    $('prev').addEventListener('click', () => move(-1));
    $('next').addEventListener('click', () => move(1));
    $('release').addEventListener('click', () => act('release'));
    $('reject').addEventListener('click', () => act('reject'));
    $('help-button').addEventListener('click', () => toggleHelp());
    $('help-close').addEventListener('click', () => toggleHelp(false));
    $('logout').addEventListener('click', async () => {
      try { await api('/logout', { method: 'POST' }); } catch (_) { /* signed out anyway */ }
      location.assign('/login');
    });
    try {
      state.me = await api('/api/whoami');
    } catch (e) {
      showError(e.message);
      return;
    }
    state.csrf = state.me.csrf_token || '';
    $('whoami').textContent = 'Signed in as ' + state.me.reviewer;
    if (!state.me.full_text) $('f-q').placeholder = 'Filter by words (no full-text index)  (/)';
    await connect();
    await load(false);
    state.started = true;
    document.body.dataset.ready = 'true';
    route();
  }

  start();
})();

/* app.js: the search page of polysearchd (docs/HTTP.md, "The search page").
 *
 * No framework and no external resource.  Everything shown comes from the
 * API (GET /search, GET /docs/{id}, the /watch event stream) and is
 * untrusted article text: it is put into the page only as text nodes
 * (textContent, append of strings), never as HTML.  The page's state
 * lives in its URL (/?q=&lang=&from=&to=&sort=&page=&doc=): typing
 * replaces the history entry, other actions push one, and loading any
 * such URL shows the same thing.
 *
 * A daemon with --auth-token-file answers 401: the page then asks for a
 * token, keeps it in sessionStorage (this tab only, never in the URL) and
 * sends it as Authorization: Bearer; the live panel then reads /watch
 * with fetch (EventSource cannot send that header).
 */
'use strict';

(function () {
  const PAGE_SIZE = 10;
  const DEBOUNCE_MS = 250;
  const LIVE_MAX = 50;
  const MAX_PAGES = 1000;       /* --max-window 10,000 / PAGE_SIZE */

  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $('search'), q: $('q'), from: $('from'), to: $('to'), sort: $('sort'),
    status: $('status'), suggest: $('suggest'), suggestion: $('suggestion'),
    facets: $('facets'), results: $('results'), hits: $('hits'), pages: $('pages'),
    live: $('live'), liveState: $('live-state'), liveList: $('live-list'),
    doc: $('doc'), docTitle: $('doc-title'), docMeta: $('doc-meta'),
    docBody: $('doc-body'), docClose: $('doc-close'), home: $('home'),
    auth: $('auth'), authMsg: $('auth-msg'), token: $('token'),
    tokenForget: $('token-forget'),
  };

  /* An element with text content only: el('p', 'class', 'text'). */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /* ---- state in the URL ------------------------------------------------ */

  const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

  function readState(loc) {
    const p = new URLSearchParams(loc.search);
    const page = parseInt(p.get('page') || '1', 10);
    const date = (v) => (v && DATE_RE.test(v) ? v : '');
    return {
      q: p.get('q') || '',
      lang: p.get('lang') || '',
      from: date(p.get('from')),
      to: date(p.get('to')),
      sort: p.get('sort') === 'date' ? 'date' : '',
      page: Number.isInteger(page) && page > 1 ? Math.min(page, MAX_PAGES) : 1,
      doc: p.get('doc') || '',
    };
  }

  function stateURL(s) {
    const p = new URLSearchParams();
    if (s.q) p.set('q', s.q);
    if (s.lang) p.set('lang', s.lang);
    if (s.from) p.set('from', s.from);
    if (s.to) p.set('to', s.to);
    if (s.sort) p.set('sort', s.sort);
    if (s.page > 1) p.set('page', String(s.page));
    if (s.doc) p.set('doc', s.doc);
    const qs = p.toString();
    return '/' + (qs ? '?' + qs : '');
  }

  let state = readState(window.location);
  let typingPushed = false;     /* this run of typing has its own entry */

  /* Makes next the state; push: a new history entry, else replace. */
  function commit(next, push) {
    state = next;
    const url = stateURL(state);
    if (url !== window.location.pathname + window.location.search) {
      if (push) window.history.pushState(null, '', url);
      else window.history.replaceState(null, '', url);
    }
  }

  function syncInputs() {
    if (ui.q.value !== state.q) ui.q.value = state.q;
    ui.from.value = state.from;
    ui.to.value = state.to;
    ui.sort.value = state.sort;
  }

  /* ---- the access token (--auth-token-file) ------------------------------ */

  const TOKEN_KEY = 'polysearch.token';

  function token() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      return '';
    }
  }

  function setToken(t) {
    try {
      if (t) window.sessionStorage.setItem(TOKEN_KEY, t);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* storage refused: no token kept */
    }
    showTokenState();
  }

  function showTokenState() {
    ui.tokenForget.hidden = !token();
    document.body.dataset.auth = token() ? 'token' : '';
  }

  function apiHeaders() {
    const h = { Accept: 'application/json' };
    const t = token();
    if (t) h.Authorization = 'Bearer ' + t;
    return h;
  }

  /* A 401 or 403: ask for a (better) token. */
  function askToken(status, body) {
    const msg = body && body.error && body.error.message ? body.error.message : '';
    const refused = status === 401 && token();
    if (refused) setToken('');          /* a wrong token is not kept */
    ui.authMsg.textContent = (status === 403
      ? 'This token may not do this: it needs the read role. '
      : refused ? 'The token was refused. ' : 'This server needs an access token (the read role). ') +
      (msg ? '(' + msg + ')' : '');
    ui.auth.hidden = false;
    ui.token.value = '';
    document.body.dataset.auth = 'needed';
  }

  ui.auth.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(ui.token.value.trim());
    ui.token.value = '';
    ui.auth.hidden = true;
    closeLive();
    runSearch();
    if (state.doc) openDoc(state.doc, null, false);
  });

  ui.tokenForget.addEventListener('click', () => {
    setToken('');
    ui.token.value = '';
    closeLive();
    runSearch();
  });

  /* ---- rendering helpers ----------------------------------------------- */

  let langNames = null;
  try {
    langNames = new Intl.DisplayNames(['en'], { type: 'language' });
  } catch (e) {
    langNames = null;
  }

  function langName(code) {
    if (!code || code === 'und') return 'language unknown';
    try {
      return langNames ? langNames.of(code) : code;
    } catch (e) {
      return code;
    }
  }

  function badge(code) {
    const b = el('span', 'badge', code || 'und');
    b.title = langName(code);
    return b;
  }

  function dateNode(d) {
    const t = el('time', null, String(d).slice(0, 10));
    t.setAttribute('datetime', String(d));
    return t;
  }

  const enc = new TextEncoder();
  const dec = new TextDecoder();

  /* Appends text to node with the [offset, length] byte spans of spans
   * (UTF-8, as the API gives them) wrapped in <mark>; spans that are
   * malformed, overlapping or out of range are ignored. */
  function appendHighlighted(node, text, spans) {
    const bytes = enc.encode(String(text || ''));
    const ok = (Array.isArray(spans) ? spans : [])
      .filter((s) => Array.isArray(s) && s.length === 2)
      .map((s) => [Number(s[0]), Number(s[1])])
      .filter(([o, l]) => Number.isInteger(o) && Number.isInteger(l) && o >= 0 && l > 0 &&
              o + l <= bytes.length)
      .sort((a, b) => a[0] - b[0]);
    let pos = 0;
    for (const [o, l] of ok) {
      if (o < pos) continue;
      if (o > pos) node.append(dec.decode(bytes.subarray(pos, o)));
      node.append(el('mark', null, dec.decode(bytes.subarray(o, o + l))));
      pos = o + l;
    }
    if (pos < bytes.length) node.append(dec.decode(bytes.subarray(pos)));
  }

  function setStatus(text, kind) {
    ui.status.textContent = text;
    ui.status.className = kind || '';
  }

  /* A link to the document view of id; opens it in place on a plain
   * click or Enter (a modified click opens the URL in a new tab). */
  function docLink(id, title, cls) {
    const a = el('a', cls, title || id);
    a.href = stateURL(Object.assign({}, state, { doc: id }));
    a.addEventListener('click', (ev) => {
      if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      ev.preventDefault();
      openDoc(id, a, true);
    });
    return a;
  }

  /* ---- search ------------------------------------------------------------ */

  let searchSeq = 0;
  let inFlight = null;

  function searchParams(s) {
    const p = new URLSearchParams();
    p.set('q', s.q);
    p.set('limit', String(PAGE_SIZE));
    p.set('offset', String((s.page - 1) * PAGE_SIZE));
    p.set('facets', 'true');
    p.set('spelling', 'true');
    if (s.lang) p.set('lang', s.lang);
    if (s.from) p.set('date_from', s.from);
    if (s.to) p.set('date_to', s.to);
    if (s.sort) p.set('sort', s.sort);
    return p;
  }

  function clearResults() {
    clear(ui.hits);
    clear(ui.facets);
    clear(ui.pages);
    ui.facets.hidden = true;
    ui.pages.hidden = true;
    ui.suggest.hidden = true;
    document.body.dataset.results = 'none';
  }

  async function runSearch() {
    const s = state;
    const my = ++searchSeq;
    if (inFlight) inFlight.abort();
    inFlight = null;
    if (!s.q.trim()) {
      clearResults();
      setStatus('');
      document.title = 'polysearch';
      closeLive();
      return;
    }
    document.title = s.q + ' - polysearch';
    const ctrl = new AbortController();
    inFlight = ctrl;
    document.body.dataset.results = 'loading';
    setStatus('Searching…');
    let res;
    let body;
    try {
      res = await fetch('/search?' + searchParams(s).toString(),
                        { signal: ctrl.signal, headers: apiHeaders() });
      /* Not JSON: one of libevent's own refusals (a URL over
       * --max-headers), reported by its status below. */
      body = await res.json().catch(() => null);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (my !== searchSeq) return;
      clearResults();
      setStatus('The search service cannot be reached.', 'error');
      document.body.dataset.results = 'error';
      return;
    }
    if (my !== searchSeq) return;
    inFlight = null;
    if (res.status === 401 || res.status === 403) {
      clearResults();
      setStatus('');
      askToken(res.status, body);
      closeLive();
      return;
    }
    if (!res.ok || !body || typeof body !== 'object') {
      clearResults();
      const msg = body && body.error && body.error.message ? body.error.message : 'HTTP ' + res.status;
      setStatus('Search failed: ' + msg, 'error');
      document.body.dataset.results = 'error';
      closeLive();
      return;
    }
    render(body, s);
    openLive(s);
  }

  function render(body, s) {
    const hits = Array.isArray(body.hits) ? body.hits : [];
    const total = Number.isInteger(body.total) ? body.total : hits.length;
    clear(ui.hits);
    for (const h of hits) ui.hits.append(renderHit(h));
    if (total === 0) {
      setStatus('No results for “' + s.q + '”.');
    } else {
      const first = (s.page - 1) * PAGE_SIZE + 1;
      setStatus((total === 1 ? '1 result' : total + ' results') + ' for “' + s.q + '”' +
                (hits.length ? ' (' + first + '–' + (first + hits.length - 1) + ')' : '') + '.');
    }
    renderSuggestion(body.suggestion, s);
    renderFacets(body.facets && body.facets.lang, s);
    renderPages(total, s);
    document.body.dataset.results = 'ready';
  }

  function renderHit(h) {
    const li = el('li', 'hit');
    li.dataset.id = String(h.id);
    const h3 = el('h3');
    h3.append(docLink(String(h.id), h.title ? String(h.title) : '', 'hit-title'));
    const meta = el('p', 'meta');
    meta.append(badge(h.lang));
    if (h.date) meta.append(dateNode(h.date));
    meta.append(el('span', 'hit-id', h.id));
    const snip = el('p', 'snippet');
    appendHighlighted(snip, h.snippet, h.highlights);
    li.append(h3, meta, snip);
    return li;
  }

  function renderSuggestion(sugg, s) {
    if (typeof sugg === 'string' && sugg && sugg !== s.q) {
      ui.suggestion.textContent = sugg;
      ui.suggest.hidden = false;
    } else {
      ui.suggest.hidden = true;
    }
  }

  function renderFacets(langs, s) {
    clear(ui.facets);
    const entries = langs && typeof langs === 'object'
      ? Object.entries(langs).filter(([, n]) => Number.isInteger(n)).sort((a, b) => b[1] - a[1])
      : [];
    if (!entries.length && !s.lang) {
      ui.facets.hidden = true;
      return;
    }
    if (s.lang) {
      const all = el('button', 'facet', 'All languages');
      all.type = 'button';
      all.dataset.lang = '';
      all.addEventListener('click', () => setLang(''));
      ui.facets.append(all);
    }
    for (const [code, n] of entries) {
      const b = el('button', 'facet');
      b.type = 'button';
      b.dataset.lang = code;
      b.setAttribute('aria-pressed', code === s.lang ? 'true' : 'false');
      b.title = langName(code);
      b.append(code);
      b.append(el('span', 'count', n));
      b.addEventListener('click', () => setLang(code === state.lang ? '' : code));
      ui.facets.append(b);
    }
    ui.facets.hidden = false;
  }

  function renderPages(total, s) {
    clear(ui.pages);
    const pages = Math.min(MAX_PAGES, Math.max(1, Math.ceil(total / PAGE_SIZE)));
    if (pages <= 1 && s.page <= 1) {
      ui.pages.hidden = true;
      return;
    }
    const box = el('div', 'pager');
    const prev = el('button', null, '← Previous');
    prev.type = 'button';
    prev.id = 'prev';
    prev.disabled = s.page <= 1;
    prev.addEventListener('click', () => goPage(state.page - 1));
    const next = el('button', null, 'Next →');
    next.type = 'button';
    next.id = 'next';
    next.disabled = s.page >= pages;
    next.addEventListener('click', () => goPage(state.page + 1));
    box.append(prev, el('span', 'where', 'Page ' + s.page + ' of ' + pages), next);
    ui.pages.append(box);
    ui.pages.hidden = false;
  }

  /* ---- actions ------------------------------------------------------------ */

  let debounce = null;

  function newSearch(fields, push) {
    if (debounce) { clearTimeout(debounce); debounce = null; }
    typingPushed = false;
    commit(Object.assign({}, state, { page: 1, doc: '' }, fields), push);
    runSearch();
  }

  function setLang(code) {
    newSearch({ lang: code }, true);
  }

  function goPage(n) {
    if (n < 1) return;
    commit(Object.assign({}, state, { page: n, doc: '' }), true);
    runSearch().then(() => ui.results.focus());
  }

  ui.q.addEventListener('input', () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = null;
      const push = !typingPushed && state.q !== '';
      typingPushed = true;
      commit(Object.assign({}, state, { q: ui.q.value, page: 1, doc: '' }), push);
      runSearch();
    }, DEBOUNCE_MS);
  });

  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    newSearch({ q: ui.q.value }, ui.q.value !== state.q || state.page !== 1);
  });

  ui.from.addEventListener('change', () => newSearch({ from: ui.from.value }, true));
  ui.to.addEventListener('change', () => newSearch({ to: ui.to.value }, true));
  ui.sort.addEventListener('change', () => newSearch({ sort: ui.sort.value }, true));

  ui.suggestion.addEventListener('click', () => {
    ui.q.value = ui.suggestion.textContent;
    newSearch({ q: ui.q.value }, true);
    ui.q.focus();
  });

  ui.home.addEventListener('click', (ev) => {
    ev.preventDefault();
    ui.q.value = '';
    newSearch({ q: '', lang: '', from: '', to: '', sort: '' }, true);
    syncInputs();
    ui.q.focus();
  });

  window.addEventListener('popstate', () => {
    const before = state;
    state = readState(window.location);
    typingPushed = false;
    syncInputs();
    const same = ['q', 'lang', 'from', 'to', 'sort', 'page'].every((k) => before[k] === state[k]);
    if (!same) runSearch();
    if (state.doc) openDoc(state.doc, null, false);
    else if (ui.doc.open) ui.doc.close();
  });

  /* ---- the document view --------------------------------------------------- */

  let docOpener = null;
  let docPushed = false;
  let docSeq = 0;

  async function openDoc(id, opener, push) {
    if (push) {
      commit(Object.assign({}, state, { doc: id }), true);
      docPushed = true;
    }
    if (opener) docOpener = opener;
    const my = ++docSeq;
    ui.docTitle.textContent = 'Loading…';
    clear(ui.docMeta);
    clear(ui.docBody);
    ui.doc.dataset.state = 'loading';
    if (!ui.doc.open) ui.doc.showModal();
    ui.docClose.focus();
    let res;
    let d;
    try {
      res = await fetch('/docs/' + encodeURIComponent(id), { headers: apiHeaders() });
      d = await res.json().catch(() => null);
    } catch (e) {
      d = null;
    }
    if (my !== docSeq) return;
    if (!res || !res.ok || !d || typeof d !== 'object') {
      ui.docTitle.textContent = 'Document not available';
      const msg = d && d.error && d.error.message ? d.error.message : 'the service cannot be reached';
      ui.docBody.append(el('p', null, msg));
      ui.doc.dataset.state = 'error';
      return;
    }
    ui.docTitle.textContent = d.title || d.id;
    ui.docMeta.append(badge(d.lang));
    if (d.date) ui.docMeta.append(dateNode(d.date));
    ui.docMeta.append(el('span', 'hit-id', d.id));
    if (typeof d.url === 'string' && /^https?:\/\//i.test(d.url)) {
      const a = el('a', null, d.url);
      a.href = d.url;
      a.rel = 'noopener noreferrer nofollow';
      ui.docMeta.append(a);
    } else if (d.url) {
      ui.docMeta.append(el('span', null, d.url));
    }
    for (const para of String(d.body || '').split(/\n\s*\n/)) {
      if (para.trim()) ui.docBody.append(el('p', null, para.trim()));
    }
    ui.doc.dataset.state = 'ready';
  }

  ui.docClose.addEventListener('click', () => ui.doc.close());

  ui.doc.addEventListener('close', () => {
    if (state.doc) {
      if (docPushed) {
        docPushed = false;
        window.history.back();          /* popstate brings the state back */
      } else {
        commit(Object.assign({}, state, { doc: '' }), false);
      }
    }
    if (docOpener && document.contains(docOpener)) docOpener.focus();
    docOpener = null;
  });

  /* ---- live matches (Server-Sent Events from /watch) ------------------------ */

  let source = null;            /* {close()} of the current stream */
  let sourceKey = null;

  function liveState(st, text) {
    ui.live.dataset.state = st;
    ui.liveState.textContent = text || st;
  }

  function closeLive() {
    if (source) source.close();
    source = null;
    sourceKey = null;
    liveState('off');
  }

  /* /watch through EventSource (no token: the browser reconnects). */
  function eventSource(url, h) {
    const es = new EventSource(url);
    es.addEventListener('open', h.open);
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) h.fail(0);
      else h.retrying();
    });
    es.addEventListener('match', (ev) => h.event('match', ev.data));
    es.addEventListener('lagged', (ev) => h.event('lagged', ev.data));
    return { close: () => es.close() };
  }

  /* /watch through fetch, to send the token: the event stream parsed here
   * (data, event, id and comment lines, as EventSource does), reconnecting
   * 3 s after a lost connection with the last id as Last-Event-ID (the
   * daemon resends what was missed); an HTTP error ends it. */
  function fetchSource(url, h) {
    const ctrl = new AbortController();
    let stopped = false;
    let timer = null;
    let lastId = null;    /* sent back on a reconnect, as EventSource does */
    async function run() {
      let res;
      const hdrs = Object.assign(apiHeaders(), { Accept: 'text/event-stream' });
      if (lastId !== null) hdrs['Last-Event-ID'] = lastId;
      try {
        res = await fetch(url, { headers: hdrs,
                                 signal: ctrl.signal, cache: 'no-store' });
      } catch (e) {
        res = null;
      }
      if (stopped) return;
      if (res && !res.ok) {
        h.fail(res.status);
        return;
      }
      if (res && res.body) {
        h.open();
        const reader = res.body.getReader();
        const text = new TextDecoder();
        let buf = '';
        let ev = { name: 'message', data: null };
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += text.decode(value, { stream: true });
            let nl;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).replace(/\r$/, '');
              buf = buf.slice(nl + 1);
              if (line === '') {
                if (ev.data !== null) h.event(ev.name, ev.data);
                ev = { name: 'message', data: null };
              } else if (line[0] !== ':') {
                const c = line.indexOf(':');
                const field = c < 0 ? line : line.slice(0, c);
                let v = c < 0 ? '' : line.slice(c + 1);
                if (v[0] === ' ') v = v.slice(1);
                if (field === 'data') ev.data = ev.data === null ? v : ev.data + '\n' + v;
                else if (field === 'event') ev.name = v;
                else if (field === 'id' && v.indexOf('\0') < 0) lastId = v;
              }
            }
          }
        } catch (e) {
          /* aborted or lost: below */
        }
      }
      if (stopped) return;
      h.retrying();
      timer = setTimeout(run, 3000);
    }
    run();
    return {
      close: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        ctrl.abort();
      },
    };
  }

  function openLive(s) {
    const key = JSON.stringify([s.q, s.lang, s.from, token()]);
    if (source && sourceKey === key) return;
    closeLive();
    clear(ui.liveList);
    const p = new URLSearchParams();
    p.set('q', s.q);
    if (s.lang) p.set('lang', s.lang);
    if (s.from) p.set('date_from', s.from);
    const mine = {};
    const h = {
      open: () => { if (source === mine.src) liveState('live'); },
      retrying: () => { if (source === mine.src) liveState('connecting', 'reconnecting'); },
      fail: (status) => {
        if (source !== mine.src) return;
        liveState('error', status === 401 || status === 403 ? 'needs a token' : 'unavailable');
      },
      event: (name, data) => { if (source === mine.src) liveEvent(name, data); },
    };
    liveState('connecting');
    try {
      mine.src = token() ? fetchSource('/watch?' + p.toString(), h)
                         : eventSource('/watch?' + p.toString(), h);
    } catch (e) {
      liveState('error', 'unavailable');
      return;
    }
    source = mine.src;
    sourceKey = key;
  }

  function liveEvent(name, data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!m || typeof m !== 'object') return;
    if (name === 'match') {
      addLive(m);
    } else if (name === 'lagged') {
      const n = m.dropped;
      ui.liveList.prepend(el('li', 'live-item lagged', (Number.isInteger(n) ? n : 'Some') +
                             ' matches were held back (this page read too slowly); ' +
                             'they follow as the stream reconnects.'));
    }
  }

  function addLive(m) {
    const li = el('li', 'live-item');
    li.dataset.id = String(m.id);
    const title = el('p', 'live-title');
    title.append(docLink(String(m.id), m.title ? String(m.title) : '', 'live-link'));
    const meta = el('p', 'meta');
    meta.append(badge(m.lang));
    if (m.date) meta.append(dateNode(m.date));
    if (m.replaced) meta.append(el('span', null, 'updated'));
    meta.append(el('span', 'when', new Date().toLocaleTimeString()));
    li.append(title, meta, el('p', 'snippet', m.snippet || ''));
    ui.liveList.prepend(li);
    while (ui.liveList.children.length > LIVE_MAX) ui.liveList.lastChild.remove();
  }

  /* ---- start ------------------------------------------------------------------ */

  syncInputs();
  showTokenState();
  if (state.q) runSearch();
  if (state.doc) openDoc(state.doc, null, false);
  document.body.dataset.ready = 'true';
})();

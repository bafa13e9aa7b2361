#!/usr/bin/python3
"""browser_*: the search page (GET /) in headless Chromium, driven by
Selenium (Debian: chromium, chromium-driver, python3-selenium), against
the real daemon on 127.0.0.1:0 over the seed corpus.

Usage: page.py CASE, CASE one of
  search    type an accent-free query, see the API's hits rendered with
            highlights; a language facet; the document view; back and
            reload from the URL; "did you mean"; pages; the date filter;
            a document added with POST /docs appears in the live panel
  escape    documents with <script>, <img onerror>, <iframe> and HTML in
            ids, titles, bodies and URLs: nothing executes (no alert, the
            flag such code would set stays unset), nothing becomes an
            element, the text is shown literally, in hits, the document
            view and the live panel
  narrow    a 375x700 window: one column, no horizontal scrolling
  keyboard  search, open and close a document, pick a facet with the
            keyboard only; focus is visible
  token     a daemon with --auth-token-file: the page asks for a token,
            then searches, opens a document and follows /watch (fetch
            with Authorization: Bearer) with it; the token never appears
            in the URL; a wrong token is said to be refused
Screenshots go to $PS_SCRATCH (the test's scratch folder in the build
tree), the browser's profile to a fresh temporary folder.  Chromium talks
only to 127.0.0.1 (host resolver rules, background networking off); every
wait has a timeout; the daemon and the browser are stopped at the end.
Exit 77 (skip) when Chromium, chromedriver or Selenium is missing, or 1
with PS_REQUIRE_BROWSER=1 (set by .ci/run).
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unicodedata
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import pshttp  # noqa: E402
import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT = 20.0

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover
    webdriver = None

SCRATCH = os.environ.get("PS_SCRATCH") or tempfile.mkdtemp(prefix="pst-browser-")


class Page:
    """One Chromium (fresh profile) on the daemon's HTTP port."""

    def __init__(self, port, tmp, case, width=1280, height=900):
        self.base = "http://127.0.0.1:%d" % port
        self.port = port
        self.case = case
        self.nshot = 0
        self.headers = {}       # for the API calls of the test itself
        profile = tempfile.mkdtemp(prefix="chrome-", dir=tmp)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height),
                  "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps", "--no-pings",
                  "--disable-features=Translate,OptimizationHints,MediaRouter",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                  "--no-proxy-server", "--lang=en-US"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        os.makedirs(SCRATCH, exist_ok=True)
        service = Service(CHROMEDRIVER, log_path=os.path.join(SCRATCH, "chromedriver.log"))
        self.d = webdriver.Chrome(service=service, options=opts)
        self.d.set_page_load_timeout(WAIT)
        self.d.set_script_timeout(WAIT)
        if width < 500:
            # Chromium's windows are at least 500 px wide: a phone's
            # viewport is emulated (as DevTools' device mode does).
            self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})

    def quit(self):
        try:
            self.d.quit()
        except Exception as e:  # the browser may be gone already
            print("note: quitting the browser: %s" % e, file=sys.stderr)

    # ---- helpers ------------------------------------------------------------

    def shot(self, name):
        self.nshot += 1
        path = os.path.join(SCRATCH, "%s-%02d-%s.png" % (self.case, self.nshot, name))
        try:
            self.d.save_screenshot(path)
        except Exception as e:
            print("note: screenshot %s failed: %s" % (path, e), file=sys.stderr)
        return path

    def wait(self, cond, what, timeout=WAIT):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.05).until(lambda d: cond())
        except TimeoutException:
            self.shot("FAIL")
            fail("%s: timed out (%.0f s) waiting for %s; url %s; console %r" %
                 (self.case, timeout, what, self.d.current_url, self.console()))

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def open(self, path):
        self.d.get(self.base + path)
        self.wait(lambda: self.js("return document.body && document.body.dataset.ready") == "true",
                  "the page's script to start on " + path)

    def state(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.d.current_url).query)

    def hits(self):
        return self.js("""
            return Array.from(document.querySelectorAll('#hits li.hit')).map(li => ({
              id: li.dataset.id,
              title: li.querySelector('.hit-title').textContent,
              lang: li.querySelector('.badge').textContent,
              marks: Array.from(li.querySelectorAll('mark')).map(m => m.textContent),
              snippet: li.querySelector('.snippet').textContent}));""")

    def api(self, q, **more):
        args = dict(q=q, limit=10, facets="true", spelling="true", **more)
        st, _, res = pshttp.jrequest(self.port, "GET", "/search?" + urllib.parse.urlencode(args),
                                     headers=self.headers)
        check(st == 200, "API search %r: %d %r" % (args, st, res))
        return res

    def wait_hits(self, ids, what):
        """Waits until the rendered hits are exactly ids (in order)."""
        self.wait(lambda: self.js("return document.body.dataset.results") == "ready" and
                  [h["id"] for h in self.hits()] == ids,
                  "%s: hits %r (shown: %r)" % (what, ids, [h["id"] for h in self.hits()]))
        return self.hits()

    def active(self):
        return self.js("""const a = document.activeElement;
            return a ? {tag: a.tagName, id: a.id, cls: a.className,
                        text: a.textContent.slice(0, 200),
                        outline: getComputedStyle(a).outlineStyle,
                        width: getComputedStyle(a).outlineWidth} : null;""")

    def console(self):
        try:
            return [e for e in self.d.get_log("browser")]
        except Exception:
            return []

    def no_alert(self, what):
        try:
            a = self.d.switch_to.alert
            text = a.text
            a.dismiss()
            fail("%s: an alert opened: %r" % (what, text))
        except NoAlertPresentException:
            pass


def fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s)
                   if not unicodedata.combining(c)).lower()


def post(port, docs, headers=None):
    st, _, res = pshttp.jrequest(port, "POST", "/docs", docs, headers)
    check(st == 200 and not res["rejected"], "POST /docs: %d %r" % (st, res))


def severe(entries, allowed=()):
    """Console entries of level SEVERE not matching an allowed pattern."""
    return [e for e in entries if e.get("level") == "SEVERE" and
            not any(re.search(a, e.get("message", "")) for a in allowed)]


# ---- cases ------------------------------------------------------------------

def case_search(p):
    p.open("/")
    check(p.js("return document.activeElement.id") == "q", "the search box has the focus")
    p.shot("empty")
    # Type an accent-free query: hits as the API gives them, highlights.
    p.d.find_element(By.ID, "q").send_keys("sante")
    want = p.api("sante")
    ids = [h["id"] for h in want["hits"]]
    check("000_3d3df94667dbc618" in ids, "the API finds the santé article: %r" % ids)
    shown = p.wait_hits(ids, "typing 'sante'")
    for h, w in zip(shown, want["hits"]):
        check(h["title"] == w["title"] and h["lang"] == w["lang"], "hit %r vs %r" % (h, w))
        check(h["snippet"] == w["snippet"], "snippet %r vs %r" % (h["snippet"], w["snippet"]))
    marks = [fold(m) for h in shown for m in h["marks"]]
    check(marks and all(m.startswith("sant") for m in marks), "highlights %r" % marks)
    p.wait(lambda: p.state().get("q") == ["sante"], "q=sante in the URL")
    p.wait(lambda: p.js("return document.getElementById('live').dataset.state") == "live",
           "the live panel to connect")
    p.shot("sante")

    # A language facet: only that language, in the URL.
    facets = p.js("""return Array.from(document.querySelectorAll('#facets .facet'))
                     .map(b => b.dataset.lang);""")
    check(set(facets) == set(want["facets"]["lang"]), "facets %r vs %r" % (facets, want["facets"]))
    p.d.find_element(By.CSS_SELECTOR, '#facets .facet[data-lang="de"]').click()
    de = [h["id"] for h in p.api("sante", lang="de")["hits"]]
    shown = p.wait_hits(de, "the de facet")
    check(all(h["lang"] == "de" for h in shown), "facet de shows %r" % shown)
    check(p.state().get("lang") == ["de"], "lang=de in the URL: %s" % p.d.current_url)
    check(p.js("""return document.querySelector('#facets .facet[data-lang="de"]')
                  .getAttribute('aria-pressed')""") == "true", "the facet is pressed")
    p.shot("facet-de")

    # The document view, its URL, closing it.
    first = shown[0]
    p.d.find_element(By.CSS_SELECTOR, "#hits li.hit .hit-title").click()
    p.wait(lambda: p.js("return document.getElementById('doc').open && "
                        "document.getElementById('doc').dataset.state") == "ready",
           "the document view")
    st, _, doc = pshttp.jrequest(p.port, "GET", "/docs/" + urllib.parse.quote(first["id"], safe=""))
    check(st == 200, "GET /docs: %d" % st)
    check(p.d.find_element(By.ID, "doc-title").text == doc["title"], "document title")
    body = p.js("return document.getElementById('doc-body').textContent")
    check(" ".join(doc["body"].split())[:60] in " ".join(body.split()), "document body shown")
    check(p.state().get("doc") == [first["id"]], "doc= in the URL: %s" % p.d.current_url)
    p.shot("document")
    close_doc(p, lambda: p.d.find_element(By.ID, "doc-close").click())

    # Back: the search without the facet.
    p.d.back()
    p.wait_hits(ids, "back to all languages")
    check("lang" not in p.state(), "back: %s" % p.d.current_url)

    # Reload a URL: the first render shows its hits.
    p.open("/?q=lyonbiopole&lang=de")
    p.wait_hits([h["id"] for h in p.api("lyonbiopole", lang="de")["hits"]], "a loaded URL")
    check(p.d.find_element(By.ID, "q").get_attribute("value") == "lyonbiopole", "box from URL")

    # Did you mean.
    p.open("/?q=lyonbiopoel")
    p.wait(lambda: p.d.find_element(By.ID, "suggest").is_displayed(), "did you mean")
    check(p.d.find_element(By.ID, "suggestion").text == "lyonbiopole", "the suggestion")
    p.shot("did-you-mean")
    p.d.find_element(By.ID, "suggestion").click()
    p.wait_hits([h["id"] for h in p.api("lyonbiopole")["hits"]], "the suggestion clicked")
    check(p.state().get("q") == ["lyonbiopole"], "suggestion in the URL")

    # The live panel: a matching document added through the API.
    p.wait(lambda: p.js("return document.getElementById('live').dataset.state") == "live",
           "the live panel to connect for lyonbiopole")
    post(p.port, {"id": "live/1", "title": "Lyonbiopôle ouvre un site à Gerland",
                  "body": "Le pôle LYONBIOPOLE annonce un nouveau site.", "lang": "fr",
                  "date": "2026-02-03"})
    p.wait(lambda: p.js("""return Array.from(document.querySelectorAll('#live-list li'))
                           .map(li => li.dataset.id)""") == ["live/1"], "live/1 in the live panel")
    text = p.js("return document.querySelector('#live-list li').textContent")
    check("Lyonbiopôle ouvre un site à Gerland" in text and "fr" in text, "live entry %r" % text)
    post(p.port, {"id": "live/2", "body": "Nothing to see here.", "lang": "en"})
    post(p.port, {"id": "live/3", "body": "Lyonbiopole again", "lang": "en"})
    p.wait(lambda: p.js("""return Array.from(document.querySelectorAll('#live-list li'))
                           .map(li => li.dataset.id)""") == ["live/3", "live/1"],
           "live/3 (not live/2) in the live panel")
    p.shot("live")

    # Pages and the date filter over documents of known dates.
    post(p.port, [{"id": "pg/%02d" % i, "body": "zqpage number %d" % i, "lang": "en",
                   "date": "2025-01-%02d" % (i + 1)} for i in range(13)])
    p.open("/?q=zqpage&sort=date")
    page1 = [h["id"] for h in p.api("zqpage", sort="date")["hits"]]
    p.wait_hits(page1, "page 1")
    p.d.find_element(By.ID, "next").click()
    page2 = [h["id"] for h in p.api("zqpage", sort="date", offset=10)["hits"]]
    p.wait_hits(page2, "page 2")
    check(len(page2) == 3 and p.state().get("page") == ["2"], "page 2: %r" % page2)
    p.shot("page-2")
    p.d.back()
    p.wait_hits(page1, "back to page 1")
    p.open("/?q=zqpage&from=2025-01-10")
    p.wait_hits([h["id"] for h in p.api("zqpage", date_from="2025-01-10")["hits"]], "date filter")
    check(len(p.hits()) == 4, "date_from 2025-01-10: %r" % p.hits())
    check(p.d.find_element(By.ID, "from").get_attribute("value") == "2025-01-10", "date input")
    bad = severe(p.console(), (r"/watch",))
    check(not bad, "console errors: %r" % bad)


EVIL = [
    {"id": "x/1<svg onload=window.__pwned=1>",
     "title": "<script>window.__pwned=2</script>zqxss script title",
     "body": "zqxss <img src=x onerror=\"window.__pwned=3;alert(3)\"> and <b>bold</b> "
             "<iframe src=\"javascript:window.__pwned=4\"></iframe> end.",
     "lang": "en", "url": "javascript:window.__pwned=5"},
    {"id": "x/2",
     "title": "<img src=x onerror=alert(6)> zqxss image title",
     "body": "zqxss </mark><script>window.__pwned=7</script> <a href=\"javascript:alert(8)\">x</a>",
     "lang": "en", "url": "https://example.org/\"><script>alert(9)</script>"},
]
TAGS = "script, img, iframe, svg, b, a[href^='javascript'], object, embed"


def case_escape(p):
    post(p.port, EVIL)
    p.open("/?q=zqxss")
    want = p.api("zqxss")
    shown = p.wait_hits([h["id"] for h in want["hits"]], "the hostile documents")
    check(len(shown) == 2, "both hostile documents found: %r" % shown)
    for h, w in zip(shown, want["hits"]):
        check(h["title"] == w["title"], "title shown literally: %r vs %r" % (h["title"], w["title"]))
        check(h["snippet"] == w["snippet"], "snippet literally: %r vs %r" % (h["snippet"], w["snippet"]))
    check(any("<script>" in h["title"] for h in shown), "a literal <script> title")
    p.wait(lambda: p.js("return document.getElementById('live').dataset.state") == "live",
           "the live panel")
    p.shot("hits")

    def clean(what):
        p.no_alert(what)
        check(p.js("return window.__pwned") is None, "%s: hostile code ran (__pwned=%r)" %
              (what, p.js("return window.__pwned")))
        n = p.js("return document.querySelectorAll(arguments[0]).length", TAGS)
        check(n == 1, "%s: %d elements of %s (only the page's own script expected)"
              % (what, n, TAGS))

    # The page's own: <script src=/app.js> and no other of those tags.
    check(p.js("return document.querySelectorAll('script').length") == 1, "one script")
    time.sleep(0.5)     # an onerror would have fired by now
    clean("hits")

    # The document view, id with markup in it.
    p.d.find_element(By.CSS_SELECTOR, '#hits li.hit[data-id^="x/1"] .hit-title').click()
    p.wait(lambda: p.js("return document.getElementById('doc').dataset.state") == "ready",
           "the hostile document view")
    check(p.d.find_element(By.ID, "doc-title").text == EVIL[0]["title"], "doc title literal")
    body = p.js("return document.getElementById('doc-body').textContent")
    check(EVIL[0]["body"] in body, "doc body literal: %r" % body)
    meta = p.js("return document.getElementById('doc-meta').textContent")
    check("javascript:window.__pwned=5" in meta and
          p.js("return document.querySelectorAll('#doc-meta a').length") == 0,
          "a javascript: url is text, not a link")
    time.sleep(0.5)
    p.shot("document")
    clean("document view")
    close_doc(p, lambda: p.d.find_element(By.ID, "doc-close").click())

    # The live panel.
    post(p.port, {"id": "x/3", "title": "<img src=x onerror=window.__pwned=10> zqxss live",
                  "body": "zqxss <script>window.__pwned=11</script>", "lang": "en"})
    p.wait(lambda: p.js("return document.querySelectorAll('#live-list li').length") == 1,
           "the hostile live entry")
    text = p.js("return document.querySelector('#live-list li').textContent")
    check("<img src=x onerror=window.__pwned=10> zqxss live" in text, "live text literal %r" % text)
    time.sleep(0.5)
    clean("live panel")

    # A query with markup in it, shown back in the status line.
    q = "<img src=x onerror=window.__pwned=12>"
    box = p.d.find_element(By.ID, "q")
    box.clear()
    box.send_keys(q + Keys.ENTER)
    p.wait(lambda: q in p.js("return document.getElementById('status').textContent"),
           "the query echoed as text")
    time.sleep(0.5)
    p.shot("query")
    clean("query echo")
    bad = severe(p.console(), (r"/watch",))
    check(not bad, "console errors: %r" % bad)


def case_narrow(p):
    p.open("/?q=lyonbiopole")
    p.wait_hits([h["id"] for h in p.api("lyonbiopole")["hits"]], "hits on a phone-sized window")
    dims = p.js("""return {inner: window.innerWidth, scroll: document.documentElement.scrollWidth,
                           main: document.querySelector('main').getBoundingClientRect().toJSON(),
                           live: document.getElementById('live').getBoundingClientRect().toJSON(),
                           q: document.getElementById('q').getBoundingClientRect().toJSON(),
                           font: parseFloat(getComputedStyle(
                                 document.querySelector('.snippet')).fontSize)};""")
    check(dims["inner"] <= 400, "the window is narrow: %r" % dims)
    check(dims["scroll"] <= dims["inner"], "horizontal scrolling: %r" % dims)
    check(dims["live"]["top"] >= dims["main"]["bottom"] - 1, "one column: %r" % dims)
    check(dims["q"]["right"] <= dims["inner"] and dims["q"]["width"] >= 150, "search box %r" % dims)
    check(dims["font"] >= 14, "readable text: %r" % dims)
    for h in p.js("""return Array.from(document.querySelectorAll('#hits li.hit'))
                     .map(e => e.getBoundingClientRect().right)"""):
        check(h <= dims["inner"], "a hit overflows: %r" % h)
    p.shot("narrow")
    p.d.find_element(By.CSS_SELECTOR, "#hits li.hit .hit-title").click()
    p.wait(lambda: p.js("return document.getElementById('doc').dataset.state") == "ready",
           "the document view")
    r = p.js("return document.getElementById('doc').getBoundingClientRect().toJSON()")
    check(r["left"] >= 0 and r["right"] <= dims["inner"], "the document view fits: %r" % r)
    p.shot("narrow-document")


def case_keyboard(p):
    p.open("/")
    check(p.active()["id"] == "q", "the focus starts in the search box: %r" % p.active())
    p.d.switch_to.active_element.send_keys("lyonbiopole" + Keys.ENTER)
    ids = [h["id"] for h in p.api("lyonbiopole")["hits"]]
    p.wait_hits(ids, "Enter in the box")
    check(p.state().get("q") == ["lyonbiopole"], "the URL after Enter")

    def tab_to(pred, what, limit=40):
        for _ in range(limit):
            p.d.switch_to.active_element.send_keys(Keys.TAB)
            a = p.active()
            if pred(a):
                return a
        p.shot("FAIL-tab")
        fail("Tab never reached %s (last %r)" % (what, p.active()))

    a = tab_to(lambda a: "hit-title" in (a["cls"] or ""), "the first hit")
    check(a["outline"] != "none", "focus not visible on a hit link: %r" % a)
    first_title = a["text"]
    p.shot("focus-hit")
    p.d.switch_to.active_element.send_keys(Keys.ENTER)
    p.wait(lambda: p.js("return document.getElementById('doc').dataset.state") == "ready",
           "the document view opened with Enter")
    check(p.active()["id"] == "doc-close", "the focus moves into the view: %r" % p.active())
    check(p.active()["outline"] != "none", "focus visible on the close button")
    p.shot("document")
    close_doc(p, lambda: p.d.switch_to.active_element.send_keys(Keys.ESCAPE), "Escape")
    p.wait(lambda: p.active()["text"] == first_title, "the focus back on the hit")
    # A facet with Shift+Tab back up, then Enter (a button).
    for _ in range(40):
        p.d.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
        a = p.active()
        if "facet" in (a["cls"] or ""):
            break
    else:
        fail("Shift+Tab never reached a facet")
    lang = p.js("return document.activeElement.dataset.lang")
    check(a["outline"] != "none", "focus visible on a facet: %r" % a)
    p.d.switch_to.active_element.send_keys(Keys.ENTER)
    p.wait_hits([h["id"] for h in p.api("lyonbiopole", lang=lang)["hits"]], "facet by keyboard")
    check(p.state().get("lang") == [lang], "the facet in the URL")
    p.shot("facet")


def close_doc(p, how, what="the close button"):
    """Closes the document view and waits until the page is back on the
    search: closing goes back in history (history.back() is asynchronous),
    and a navigation started before that lands would be undone by it."""
    how()
    p.wait(lambda: not p.js("return document.getElementById('doc').open") and
           "doc" not in p.state(), "%s to close the document view" % what)


READ_TOKEN = "r3adT0ken-browser-case-0123456789"
WRITE_TOKEN = "wr1teT0ken-browser-case-0123456789"


def token_args(tmp):
    path = os.path.join(tmp, "tokens")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("read %s\nwrite %s\n" % (READ_TOKEN, WRITE_TOKEN))
    return ["--auth-token-file", path]


def case_token(p):
    p.headers = {"Authorization": "Bearer " + READ_TOKEN}
    p.open("/?q=lyonbiopole")
    p.wait(lambda: p.js("return document.body.dataset.auth") == "needed" and
           p.d.find_element(By.ID, "auth").is_displayed(), "the token form")
    check(p.hits() == [], "hits shown without a token")
    p.shot("asks")
    p.d.find_element(By.ID, "token").send_keys(READ_TOKEN + Keys.ENTER)
    ids = [h["id"] for h in p.api("lyonbiopole")["hits"]]
    p.wait_hits(ids, "hits with the token")
    check(not p.d.find_element(By.ID, "auth").is_displayed(), "the form stays")
    check(READ_TOKEN not in p.d.current_url, "the token in the URL")
    p.wait(lambda: p.js("return document.getElementById('live').dataset.state") == "live",
           "the live panel (fetch with the token)")
    post(p.port, {"id": "tok/1", "title": "Lyonbiopôle et les jetons", "body": "Lyonbiopole",
                  "lang": "fr"}, {"Authorization": "Bearer " + WRITE_TOKEN})
    p.wait(lambda: p.js("""return Array.from(document.querySelectorAll('#live-list li'))
                           .map(li => li.dataset.id)""") == ["tok/1"], "tok/1 in the live panel")
    p.shot("live")
    p.d.find_element(By.CSS_SELECTOR, "#hits li.hit .hit-title").click()
    p.wait(lambda: p.js("return document.getElementById('doc').dataset.state") == "ready",
           "the document view with the token")
    close_doc(p, lambda: p.d.find_element(By.ID, "doc-close").click())
    # Reloaded: the tab keeps the token.
    p.open("/?q=lyonbiopole&lang=de")
    p.wait_hits([h["id"] for h in p.api("lyonbiopole", lang="de")["hits"]], "reload with the token")
    # Forget it, then a wrong token.
    p.d.find_element(By.ID, "token-forget").click()
    check(p.js("return sessionStorage.length") == 0, "the token stays in sessionStorage")
    p.wait(lambda: p.d.find_element(By.ID, "auth").is_displayed(), "the form after Forget")
    p.d.find_element(By.ID, "token").send_keys("not-the-token-0123456789abcdef" + Keys.ENTER)
    p.wait(lambda: "refused" in p.d.find_element(By.ID, "auth-msg").text, "the refusal said")
    check(p.hits() == [], "hits with a wrong token")
    check(p.js("return sessionStorage.length") == 0, "a refused token is kept")
    p.shot("refused")
    bad = severe(p.console(), (r"/watch", r"/search", r"401"))
    check(not bad, "console errors: %r" % bad)


CASES = {"search": case_search, "escape": case_escape, "narrow": case_narrow,
         "keyboard": case_keyboard, "token": case_token}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: page.py {%s}" % "|".join(CASES), file=sys.stderr)
        sys.exit(64)
    case = sys.argv[1]
    # CI (.ci/run) sets PS_REQUIRE_BROWSER=1: there a missing browser fails.
    missing = pstest.fail if os.environ.get("PS_REQUIRE_BROWSER") == "1" else pstest.skip
    if webdriver is None:
        missing("python3-selenium is missing (scripts/install-deps)")
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        missing("chromium or chromium-driver is missing (scripts/install-deps)")
    t0 = time.monotonic()
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        args = token_args(tmp) if case == "token" else []
        with pshttp.http_daemon(db, tmp, args, case) as d:
            size = (375, 700) if case == "narrow" else (1280, 900)
            p = Page(d.hport, tmp, case, *size)
            try:
                CASES[case](p)
            finally:
                p.quit()
            check(d.stop() == 0, "daemon exit status:\n" + d.log_text())
    print("ok: %s in %.1f s; screenshots in %s" % (case, time.monotonic() - t0, SCRATCH))


if __name__ == "__main__":
    main()

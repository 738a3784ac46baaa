"""The console in headless Chromium, timed by the browser itself (bench/console_bench.sh
starts the stack and fills it with runs first).

  console_bench.py URL [--loads N]

1. First load, N times, each with the browser's cache off (Network.setCacheDisabled, so
   every file is fetched and sent compressed as on a first visit): the bytes on the wire of
   every request (Network.loadingFinished's encodedDataLength: headers and gzip bodies) and
   the time from navigation start to the home page drawn (its recent-runs table filled),
   and to the load event (Navigation Timing).
2. All assets: the first load, then every page visited, so that each page module and the
   charting library are fetched too: their bytes on the wire.
3. The runs page on the stack's runs: the time from the hash change to its table drawn
   (the fetch of one server-side page of 50 and its rendering), for the first page, the next
   page and a status filter; and the long tasks (PerformanceObserver, over 50 ms) meanwhile.
Prints one JSON object on stdout."""
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from test_console import Browser, chromium_binary  # noqa: E402  (one DevTools client)

PAGES = ["data", "train", "runs", "models", "explain", "monitor", "segments", "calls"]


class Wire:
    """Bytes received per request, read from the events Browser passes to its hook."""

    def __init__(self, browser):
        self.bytes = {}
        self.urls = {}
        original = browser._event

        def event(msg):
            m, p = msg.get("method"), msg.get("params", {})
            if m == "Network.requestWillBeSent":
                self.urls[p["requestId"]] = p["request"]["url"]
            elif m == "Network.loadingFinished":
                self.bytes[p["requestId"]] = p["encodedDataLength"]
            original(msg)
        browser._event = event

    def reset(self):
        self.bytes.clear()
        self.urls.clear()

    def total(self):
        return sum(self.bytes.values())

    def files(self):
        return len(self.bytes)


# The home page drawn: its four cards, none still loading (the page is in English).
DRAWN_HOME = ("document.querySelectorAll('#page section.card').length === 4 && "
              "!document.getElementById('page').textContent.includes('Loading')")


# Set in every new document before its scripts: the page's own clock (navigation start is
# 0) when the home page first holds a filled table, seen by a MutationObserver.
MARK_DRAWN = """new MutationObserver((_, obs) => {
  if (window.__drawn === undefined && (%s)) { window.__drawn = performance.now(); obs.disconnect(); }
}).observe(document, { childList: true, subtree: true });""" % DRAWN_HOME


def first_load(b, wire, url):
    wire.reset()
    b.call("Page.navigate", url=url)
    b.wait("document.readyState === 'complete' && window.__drawn !== undefined", timeout=30)
    nav = b.eval("performance.getEntriesByType('navigation')[0].toJSON()")
    b.eval("new Promise(r => setTimeout(r, 300))")  # late responses' loadingFinished
    return {"bytes": wire.total(), "files": wire.files(), "load_event_ms": nav["loadEventEnd"],
            "home_drawn_ms": b.eval("window.__drawn")}


# The runs page timed in the page: from the action to the table holding `rows` rows of the
# expected first cell, polled every animation frame; long tasks counted meanwhile.
TIMED = """(async () => {
  const longs = [];
  const obs = new PerformanceObserver((l) => longs.push(...l.getEntries().map(e => e.duration)));
  obs.observe({ type: "longtask" });
  const before = document.querySelector("main p.muted:last-of-type");
  const t0 = performance.now();
  %s;
  const ok = () => { const p = [...document.querySelectorAll("main p.muted")].find(e => /\\u2013/.test(e.textContent));
                     return p && p.textContent.startsWith(%s) && document.querySelectorAll("main tbody tr").length === %d; };
  while (!ok()) await new Promise(r => requestAnimationFrame(r));
  const took = performance.now() - t0;
  await new Promise(r => setTimeout(r, 100));
  obs.disconnect();
  return { ms: took, long_tasks: longs.length, longest_task_ms: Math.max(0, ...longs),
           shown: [...document.querySelectorAll("main p.muted")].find(e => /\\u2013/.test(e.textContent)).textContent };
})()"""


def runs_page(b, base):
    b.goto(base + "/#/home")
    b.wait(DRAWN_HOME, timeout=30)
    out = {}
    out["first_page"] = b.eval(TIMED % ("location.hash = '#/runs'", json.dumps("1\u2013"), 50))
    out["next_page"] = b.eval(TIMED % (
        "[...document.querySelectorAll('main button.secondary')].find(x => x.textContent === '\u2192').click()",
        json.dumps("51\u2013"), 50))
    out["status_filter"] = b.eval(TIMED % (
        "(() => { const s = document.getElementById('filter-status'); s.value = 'failed';"
        " s.dispatchEvent(new Event('change')); })()", json.dumps("1\u2013"), 50))
    return out


def main():
    base = sys.argv[1].rstrip("/")
    loads = int(sys.argv[sys.argv.index("--loads") + 1]) if "--loads" in sys.argv else 10
    binary = chromium_binary()
    if binary is None:
        sys.exit("chromium is needed (apt-get install chromium)")
    tmp = tempfile.mkdtemp(prefix="aiops-console-bench-")
    b = Browser(binary, tmp)
    try:
        wire = Wire(b)
        b.call("Network.setCacheDisabled", cacheDisabled=True)
        b.call("Page.addScriptToEvaluateOnNewDocument", source=MARK_DRAWN)
        b.goto(base + "/")
        b.eval("localStorage.setItem('aiops.lang', 'en')")
        samples = [first_load(b, wire, base + "/") for _ in range(loads)]
        # every page's module and the charting library (cache still off: each fetched)
        wire.reset()
        b.call("Page.navigate", url=base + "/")
        b.wait("document.readyState === 'complete' && (%s)" % DRAWN_HOME, timeout=30)
        for page in PAGES:
            b.eval("location.hash = '#/%s'" % page)
            b.wait("document.querySelector('nav a.active').getAttribute('href') === '#/%s'" % page)
        b.eval("new Promise(r => setTimeout(r, 1000))")
        assets = [u for rid, u in wire.urls.items() if "/console/" in u or u.endswith("/")]
        all_bytes = sum(n for rid, n in wire.bytes.items() if wire.urls.get(rid) in assets)
        b.call("Network.setCacheDisabled", cacheDisabled=False)
        runs = runs_page(b, base)
        errors = [e for e in b.errors if "Failed to load resource" not in e]
    finally:
        b.close()

    def q(key):
        v = sorted(s[key] for s in samples)
        return {"median": statistics.median(v), "max": v[-1], "min": v[0]}
    print(json.dumps({
        "first_load": {"loads": loads, "bytes": q("bytes"), "files": samples[0]["files"],
                       "load_event_ms": q("load_event_ms"),
                       "home_drawn_ms": q("home_drawn_ms")},
        "all_assets": {"bytes": all_bytes, "files": len(set(assets))},
        "runs_page": runs, "console_errors": errors}, indent=1))


if __name__ == "__main__":
    main()

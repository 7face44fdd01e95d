"""URL sources against a real HTTP server on 127.0.0.1: page, sitemap (and index), RSS, Atom,
retries (500 then 200, 429 with Retry-After), 404 -> Skip(fetch_failed), unreachable root, a
server that drips its answer (the fetch deadline)."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingest.sources import Skip, WebSource, open_source
from pressbot.config import Settings
from pressbot.errors import SourceError
from pressbot.types import Release


def page(title: str, body: str, *, published: str | None = None, canonical: str | None = None) -> str:
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title} | Ministry"
        f"</title>{meta}{link}</head><body><nav><a href='/'>Home</a> <a href='/press'>Press</a>"
        f"</nav><main><article><h1>{title}</h1>{body}</article></main>"
        "<footer><p>Share</p><p>© Ministry of Foreign Affairs</p></footer></body></html>"
    )


P = "<p>{}</p>".format
PAGES = {
    "/a.html": page(
        "Talks resume",
        P("Mexico and the U.S. have resumed talks that began in December at the National Palace.")
        + P("The development program will invest $180 million dollars in eight countries."),
        published="2024-01-22T10:00:00-06:00",
        canonical="/press/talks-resume",
    ),
    "/b.html": page(
        "Joint visit",
        P("Both delegations agreed to carry out a joint visit to Darién together with Panama.")
        + P("They will also seek to meet with the Government of Guatemala next month."),
    ),
    "/c.html": page("Third page", P("A third release, listed only in the second sitemap of the index.")),
    "/flaky.html": page("Flaky page", P("This page fails once with a server error, then works.")),
    "/limited.html": page("Rate limited", P("This page answers 429 once, with Retry-After: 0.")),
}


def sitemap(base: str, paths: list[str], news_date: str | None = None) -> str:
    news = f"<news:news><news:publication_date>{news_date}</news:publication_date></news:news>" if news_date else ""
    urls = "".join(f"<url><loc>{base}{p}</loc>{news if p == '/b.html' else ''}</url>" for p in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{urls}</urlset>"
    )


def feeds(base: str) -> dict[str, tuple[str, str]]:
    rss = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Ministry press</title><link>{base}/</link><description>Releases</description>
<item><title>Talks resume (feed title)</title><link>{base}/a.html</link>
<guid>{base}/?p=1</guid><pubDate>Mon, 22 Jan 2024 23:30:00 -0600</pubDate>
<description>Mexico and the U.S. have resumed talks...</description></item>
<item><title>Full content item</title><link>{base}/full</link>
<pubDate>Tue, 23 Jan 2024 09:00:00 GMT</pubDate><description>Short summary.</description>
<content:encoded><![CDATA[<p>Office of the Spokesperson</p>
<p>The full text of the item is in the feed itself, so no page is fetched for it.</p>]]></content:encoded></item>
<item><title>Gone</title><link>{base}/missing.html</link><description>Summary only.</description></item>
</channel></rss>"""
    atom = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Ministry</title><id>{base}/atom</id>
<updated>2024-02-01T00:00:00Z</updated>
<entry><title>Atom with content</title><id>urn:uuid:1</id><link href="{base}/atom-1"/>
<published>2024-02-01T12:00:00+01:00</published><updated>2024-02-02T00:00:00Z</updated>
<content type="html">&lt;p&gt;Atom entry body text, complete in the feed.&lt;/p&gt;</content></entry>
<entry><title>Atom summary only</title><id>urn:uuid:2</id><link href="{base}/b.html"/>
<updated>2024-02-03T08:00:00Z</updated><summary>Both delegations agreed...</summary></entry>
</feed>"""
    index = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemap.xml</loc></sitemap>"
        f"<sitemap><loc>{base}/sitemap2.xml</loc></sitemap>"
        f"<sitemap><loc>{base}/gone.xml</loc></sitemap></sitemapindex>"
    )
    return {
        "/sitemap.xml": (
            "application/xml",
            sitemap(
                base, ["/a.html", "/b.html", "/flaky.html", "/missing.html", "/limited.html"], news_date="2024-01-25"
            ),
        ),
        "/sitemap2.xml": ("application/xml", sitemap(base, ["/c.html", "/a.html"])),
        "/sitemap_index.xml": ("application/xml", index),
        "/sitemap-drip.xml": ("application/xml", sitemap(base, ["/drip.html", "/a.html"])),
        "/sitemap-slow.xml": ("application/xml", sitemap(base, [f"/slow-{i}.html" for i in range(8)])),
        "/rss.xml": ("application/rss+xml", rss),
        # not well-formed XML (a bare "&"): still a feed, as feedparser reads it
        "/sloppy.xml": ("text/xml", rss.replace("Ministry press", "Ministry & press")),
        "/atom.xml": ("application/atom+xml", atom),
    }


DRIP_S = 0.25


class Server:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.user_agents: set[str] = set()
        self.robots: str | None = None  # the robots.txt served (None: 404)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with outer.lock:
                    outer.hits[self.path] += 1
                    count = outer.hits[self.path]
                    outer.user_agents.add(self.headers.get("User-Agent", ""))
                if self.path == "/flaky.html" and count == 1:
                    return self._send(500, "text/plain", "boom")
                if self.path == "/limited.html" and count == 1:
                    return self._send(429, "text/plain", "slow down", {"Retry-After": "0"})
                if self.path.startswith("/slow-"):
                    return self._slow()
                if self.path.startswith("/drip"):
                    return self._drip()
                if self.path == "/always-500.html":
                    return self._send(503, "text/plain", "down")
                if self.path == "/robots.txt" and outer.robots is not None:
                    return self._send(200, "text/plain", outer.robots)
                if self.path in PAGES:
                    return self._send(200, "text/html; charset=utf-8", PAGES[self.path])
                feed = feeds(outer.base).get(self.path)
                if feed:
                    return self._send(200, feed[0], feed[1])
                self._send(404, "text/plain", "not found")

            def _slow(self) -> None:
                with outer.lock:
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                time.sleep(0.1)
                with outer.lock:
                    outer.in_flight -= 1
                n = self.path.split("-")[1].split(".")[0]
                self._send(200, "text/html", page(f"Slow {n}", P(f"Slow page number {n} of the concurrency test.")))

            def _drip(self) -> None:
                # a whole page, one byte every DRIP_S: each read is quick, the page takes ages
                data = PAGES["/b.html"].encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for i in range(len(data)):
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                        time.sleep(DRIP_S)
                except OSError:
                    pass  # the client gave up

            def _send(self, status: int, ctype: str, body: str, headers: dict[str, str] | None = None) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as srv:
        yield srv


def settings(**kw: object) -> Settings:
    base: dict[str, object] = {
        "fetch_retries": 2, "fetch_timeout_s": 5, "fetch_concurrency": 3,
        "user_agent": "pressbot-test/1.0",
    }  # fmt: skip
    return Settings(_env_file=None, **{**base, **kw})  # type: ignore[arg-type]


def split(items: list[Release | Skip]) -> tuple[list[Release], list[Skip]]:
    return [i for i in items if isinstance(i, Release)], [i for i in items if isinstance(i, Skip)]


def open_fast(url: str, name: str | None = None, **kw: object) -> WebSource:
    """Like open_source, with a short backoff so retry tests stay quick."""
    return WebSource(url, settings(**kw), name=name, backoff_s=0.05).open()


def test_single_page(server: Server) -> None:
    source = open_source(f"{server.base}/a.html", settings())
    assert source.name == "127.0.0.1"
    assert source.estimate() == 1
    [release] = list(source)
    assert isinstance(release, Release)
    assert release.id == release.url == f"{server.base}/press/talks-resume"  # canonical
    assert release.title == "Talks resume"
    assert release.date == date(2024, 1, 22)
    assert release.aliases == [f"{server.base}/a.html"]
    assert release.text.split("\n\n") == [
        "Mexico and the U.S. have resumed talks that began in December at the National Palace.",
        "The development program will invest $180 million dollars in eight countries.",
    ]
    assert server.user_agents == {"pressbot-test/1.0"}


def test_sitemap_with_retries_and_a_missing_page(server: Server) -> None:
    source = open_fast(f"{server.base}/sitemap.xml")
    assert source.kind == "sitemap"
    assert source.estimate() == 5
    releases, skips = split(list(source))
    # yielded in sitemap order whatever the fetch order was
    assert [r.title for r in releases] == ["Talks resume", "Joint visit", "Flaky page", "Rate limited"]
    assert [(s.location, s.reason) for s in skips] == [(f"{server.base}/missing.html", "fetch_failed")]
    assert "404" in skips[0].detail
    assert server.hits["/flaky.html"] == 2  # 500, then 200
    assert server.hits["/limited.html"] == 2  # 429 (Retry-After: 0), then 200
    assert server.hits["/missing.html"] == 1  # a 404 is not retried
    joint = releases[1]
    assert joint.date == date(2024, 1, 25)  # news:publication_date from the sitemap
    assert joint.id == f"{server.base}/b.html"
    assert releases[2].date is None  # no metadata, no dateline: undated
    assert {r.source for r in releases} == {"127.0.0.1"}


def test_robots_txt_is_obeyed_unless_turned_off(server: Server) -> None:
    server.robots = "User-agent: *\nDisallow: /b.html\n\nUser-agent: other-bot\nDisallow: /\n"
    releases, skips = split(list(open_fast(f"{server.base}/sitemap.xml", fetch_retries=1)))
    assert "Joint visit" not in [r.title for r in releases] and "Talks resume" in [r.title for r in releases]
    disallowed = [s for s in skips if s.reason == "disallowed"]
    assert [s.location for s in disallowed] == [f"{server.base}/b.html"] and "robots.txt" in disallowed[0].detail
    assert server.hits["/b.html"] == 0 and server.hits["/robots.txt"] == 1  # read once per site
    releases, _ = split(list(open_fast(f"{server.base}/sitemap.xml", fetch_retries=1, fetch_robots=False)))
    assert "Joint visit" in [r.title for r in releases]


def test_sitemap_index_recurses(server: Server) -> None:
    source = open_fast(f"{server.base}/sitemap_index.xml", fetch_retries=0)
    assert source.kind == "sitemapindex"
    releases, skips = split(list(source))
    titles = [r.title for r in releases]
    # no retries here: the flaky and rate-limited pages fail on their first answer
    assert titles == ["Talks resume", "Joint visit", "Third page"]
    assert titles.count("Talks resume") == 1  # listed in both sitemaps, read once
    assert [(s.location.rsplit("/", 1)[-1], s.reason) for s in skips] == [
        ("flaky.html", "fetch_failed"),
        ("missing.html", "fetch_failed"),
        ("limited.html", "fetch_failed"),
        ("gone.xml", "fetch_failed"),
    ]


def test_concurrency_is_bounded_and_order_kept(server: Server) -> None:
    releases, skips = split(list(open_fast(f"{server.base}/sitemap-slow.xml", fetch_concurrency=2)))
    assert skips == []
    assert [r.title for r in releases] == [f"Slow {i}" for i in range(8)]
    assert server.max_in_flight == 2


def test_rss_feed(server: Server) -> None:
    source = open_fast(f"{server.base}/rss.xml", name="sre")
    assert source.kind == "feed"
    assert source.estimate() == 3
    releases, skips = split(list(source))
    summary_only, full = releases
    # the entry had only a summary: title/date/link from the feed, text from the page
    assert summary_only.title == "Talks resume (feed title)"
    assert summary_only.date == date(2024, 1, 22)  # the date as written, not shifted to UTC
    assert summary_only.id == summary_only.url == f"{server.base}/a.html"
    assert "$180 million dollars in eight countries" in summary_only.text
    assert f"{server.base}/press/talks-resume" in summary_only.aliases
    assert summary_only.source == "sre"
    # full content in the feed: no page fetch
    assert full.text == "The full text of the item is in the feed itself, so no page is fetched for it."
    assert full.date == date(2024, 1, 23)
    assert server.hits["/full"] == 0
    assert [(s.location, s.reason) for s in skips] == [(f"{server.base}/missing.html", "fetch_failed")]


def test_sloppy_feed_is_still_a_feed(server: Server) -> None:
    source = open_fast(f"{server.base}/sloppy.xml")
    assert source.kind == "feed"
    assert source.estimate() == 3


def test_atom_feed(server: Server) -> None:
    source = open_fast(f"{server.base}/atom.xml")
    releases, skips = split(list(source))
    assert skips == []
    content, summary = releases
    assert (content.title, content.date, content.url) == (
        "Atom with content",
        date(2024, 2, 1),
        f"{server.base}/atom-1",
    )
    assert content.text == "Atom entry body text, complete in the feed."
    assert summary.title == "Atom summary only"
    assert summary.date == date(2024, 2, 3)  # no <published>: <updated>
    assert summary.text.startswith("Both delegations agreed to carry out a joint visit")
    assert server.hits["/atom-1"] == 0


def test_page_failing_after_all_retries(server: Server) -> None:
    with pytest.raises(SourceError, match="HTTP 503 after 2 attempt"):
        open_fast(f"{server.base}/always-500.html", fetch_retries=1)
    assert server.hits["/always-500.html"] == 2


def test_a_server_dripping_its_answer_hits_the_fetch_deadline(server: Server) -> None:
    # each byte comes well within the 5 s read timeout: only a total deadline ends the fetch
    source = open_fast(f"{server.base}/sitemap-drip.xml", fetch_deadline_s=1.5, fetch_retries=2)
    start = time.monotonic()
    releases, skips = split(list(source))
    took = time.monotonic() - start
    assert [r.title for r in releases] == ["Talks resume"]  # the other page is read
    assert [(s.location, s.reason) for s in skips] == [(f"{server.base}/drip.html", "fetch_failed")]
    assert "1.5 s fetch deadline" in skips[0].detail and "PRESSBOT_FETCH_DEADLINE_S" in skips[0].detail
    assert server.hits["/drip.html"] == 1  # a deadline is not retried
    assert took < 1.5 + DRIP_S + 1.5, took  # the page would take minutes byte by byte
    # a root URL past its deadline: the source cannot be read
    with pytest.raises(SourceError, match="fetch deadline"):
        open_fast(f"{server.base}/drip-root.html", fetch_deadline_s=1.0)


def test_root_404_raises(server: Server) -> None:
    with pytest.raises(SourceError, match="404"):
        open_source(f"{server.base}/nothing-here", settings())


def test_unreachable_root_raises_source_error() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError) as info:
        open_source(f"http://127.0.0.1:{port}/sitemap.xml", settings(fetch_retries=0))
    assert f"127.0.0.1:{port}/sitemap.xml" in str(info.value)
    assert "ConnectError" in str(info.value)

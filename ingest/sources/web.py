"""A website as a source: a sitemap (urlset or sitemap index), an RSS/Atom feed, or one page.

The root URL is fetched when the source is opened: if it cannot be fetched at all the source
cannot be read and `SourceError` is raised. Pages are then fetched with a bounded thread pool
(settings.fetch_concurrency) and yielded in sitemap/feed order; a page that still fails after
retries (exponential backoff on connection errors, 5xx and 429, honouring Retry-After) becomes
a `Skip("fetch_failed")`. httpx's timeout bounds each read, not a whole response (a server
sending a byte a second never times out), so each URL also has a total deadline
(settings.fetch_deadline_s, retries included): a page not complete by then is skipped.
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay

from ingest.clean import clean_text
from ingest.extract import (
    Extracted,
    decode_bytes,
    extract_html,
    extract_html_fragment,
    extract_pdf,
    extract_text,
    finish,
    http_url,
)
from ingest.sources.base import Skip, SkipReason, Source, make_release
from pressbot.config import Settings
from pressbot.errors import SourceError
from pressbot.types import Release

logger = logging.getLogger(__name__)

MAX_RETRY_WAIT_S = 60.0  # a Retry-After of an hour must not stall an ingest for an hour
MAX_SITEMAP_DEPTH = 3
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504}) | frozenset(range(505, 600))


# --- fetching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content: bytes
    content_type: str  # lower-case media type, "" when not sent
    charset: str | None


class FetchError(Exception):
    """A fetch that failed for good; `reason` is a Skip reason (fetch_failed or oversized)."""

    def __init__(self, detail: str, reason: SkipReason = "fetch_failed") -> None:
        super().__init__(detail)
        self.reason = reason


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


class Fetcher:
    """GET with retries on one shared httpx.Client (safe to share across threads)."""

    def __init__(
        self, settings: Settings, *, backoff_s: float = 0.5, robots: dict[str, RobotFileParser] | None = None
    ) -> None:
        self.settings = settings
        self.backoff_s = backoff_s
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)
        self.client = httpx.Client(
            timeout=settings.fetch_timeout_s,
            headers={"User-Agent": settings.user_agent},
            follow_redirects=True,
            limits=httpx.Limits(max_connections=settings.fetch_concurrency),
        )
        self._robots = {} if robots is None else robots  # shared by a source's fetchers: read once per site
        self._robots_lock = threading.Lock()  # pages of one site are fetched from several threads

    def close(self) -> None:
        self.client.close()

    def allowed(self, url: str) -> bool:
        """What the site's robots.txt says of `url` for our user agent (RFC 9309: a robots.txt
        that is absent or 4xx allows everything; a 5xx one, nothing)."""
        if not self.settings.fetch_robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            rules = self._robots.get(origin)
            if rules is None:
                rules = self._read_robots(origin)
                if rules is None:  # the site is unreachable: let the fetch itself say so
                    return True
                self._robots[origin] = rules
        return rules.can_fetch(self.settings.user_agent, url)

    def _read_robots(self, origin: str) -> RobotFileParser | None:
        rules = RobotFileParser()
        deadline = time.monotonic() + self.settings.fetch_deadline_s
        try:
            with self.client.stream("GET", f"{origin}/robots.txt", timeout=self._timeout(deadline)) as response:
                status = response.status_code
                body = self._body(response, deadline) if status < 300 else b""
        except (httpx.HTTPError, FetchError):
            return None
        lines = body.decode("utf-8", "replace").splitlines()
        if status >= 500:
            logger.warning("robots.txt of %s answers HTTP %d: not fetching from that site", origin, status)
            lines = ["User-agent: *", "Disallow: /"]
        rules.parse(lines)  # no lines (absent, 4xx): everything allowed
        return rules

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_WAIT_S)
        return min(self.backoff_s * 2 ** (state.attempt_number - 1), MAX_RETRY_WAIT_S)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.info("retrying %s after %s (attempt %d)", state.args[0] if state.args else "", exc, state.attempt_number)

    def get(self, url: str) -> Fetched:
        if not self.allowed(url):
            raise FetchError(
                "disallowed by the site's robots.txt (set PRESSBOT_FETCH_ROBOTS=false for a site of your own)",
                "disallowed",
            )
        attempts = self.settings.fetch_retries + 1
        deadline = time.monotonic() + self.settings.fetch_deadline_s
        retrying = Retrying(
            # no retry that would start after the deadline
            stop=stop_after_attempt(attempts) | stop_before_delay(self.settings.fetch_deadline_s),
            wait=self._wait,
            retry=retry_if_exception_type((httpx.TransportError, _RetryableStatus)),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(self._get_once, url, deadline)
        except _RetryableStatus as exc:
            raise FetchError(f"HTTP {exc.status} after {attempts} attempt(s)") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if time.monotonic() >= deadline:
                raise FetchError(self._late(f"{type(exc).__name__} at the end")) from exc
            raise FetchError(f"{type(exc).__name__}: {exc or 'no detail'}") from exc

    def _late(self, what: str = "") -> str:
        return (
            f"not complete within the {self.settings.fetch_deadline_s:g} s fetch deadline"
            f"{f' ({what})' if what else ''}: the server answers too slowly; raise PRESSBOT_FETCH_DEADLINE_S "
            "to wait longer"
        )

    def _timeout(self, deadline: float) -> httpx.Timeout:
        """Each wait (connect, read) capped by the time left, so one read cannot run far past
        the deadline either."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchError(self._late())
        return httpx.Timeout(min(self.settings.fetch_timeout_s, left))

    def _body(self, response: httpx.Response, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"more than {self.settings.max_file_mb} MB", "oversized")
            if time.monotonic() > deadline:
                raise FetchError(self._late(f"{size:,} bytes read"))
            chunks.append(chunk)
        return b"".join(chunks)

    def _get_once(self, url: str, deadline: float) -> Fetched:
        with self.client.stream("GET", url, timeout=self._timeout(deadline)) as response:
            status = response.status_code
            if status in RETRY_STATUSES:
                raise _RetryableStatus(status, _retry_after_s(response.headers.get("Retry-After")))
            if status >= 400:
                raise FetchError(f"HTTP {status}")
            content = self._body(response, deadline)
            media = response.headers.get("Content-Type", "")
            return Fetched(
                url=str(response.url),
                content=content,
                content_type=media.split(";")[0].strip().lower(),
                charset=response.charset_encoding,
            )


# --- decoding and classifying -----------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)


def decode_page(fetched: Fetched) -> str | None:
    """Body text: header charset, then <meta charset>, then UTF-8 / detection."""
    content = fetched.content
    declared = fetched.charset
    if not declared:
        m = _META_CHARSET.search(content[:4096])
        declared = m.group(1).decode("ascii") if m else None
    if declared:
        try:
            return content.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(content)


def _xml_root(content: bytes) -> Any | None:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        return etree.fromstring(content, parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return None


def _unzip(content: bytes) -> bytes:
    if content[:2] == b"\x1f\x8b":  # sitemap.xml.gz served as a file, not Content-Encoding
        try:
            return gzip.decompress(content)
        except (OSError, EOFError):
            return content
    return content


def classify(fetched: Fetched) -> tuple[str, Any]:
    """("sitemap", root) | ("sitemapindex", root) | ("feed", None) | ("page", None)."""
    content = _unzip(fetched.content)
    head = content[:512].lstrip().lower()
    if "xml" in fetched.content_type or head.startswith(
        (b"<?xml", b"<urlset", b"<sitemapindex", b"<rss", b"<feed", b"<rdf")
    ):
        root = _xml_root(content)
        if root is not None:
            tag = root.tag.rsplit("}", 1)[-1].lower() if isinstance(root.tag, str) else ""
            if tag in ("urlset", "sitemapindex"):
                return ("sitemap" if tag == "urlset" else "sitemapindex"), root
            if tag in ("rss", "feed", "rdf"):
                return "feed", None
        elif head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")) and (
            b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head
        ):
            return "feed", None  # not well-formed XML, but feedparser reads sloppy feeds
    return "page", None


def _sitemap_entries(root: Any, base: str) -> list[tuple[str, str | None]]:
    """(page URL, news:publication_date or None) of a urlset, or child sitemap URLs."""
    out: list[tuple[str, str | None]] = []
    for node in root:
        if not isinstance(node.tag, str):
            continue
        loc = node.xpath("./*[local-name()='loc']/text()")
        url = http_url(loc[0].strip(), base) if loc else None
        if url:
            published = node.xpath(".//*[local-name()='publication_date']/text()")
            out.append((url, published[0].strip() if published else None))
    return out


# --- the source -------------------------------------------------------------------------------


def host_name(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


class WebSource(Source):
    """A URL: sitemap.xml (urlset, or sitemapindex whose children are followed), an RSS/Atom
    feed (entry title/date/link; the page is fetched when the entry carries only a summary),
    or a single HTML page."""

    def __init__(self, url: str, settings: Settings, *, name: str | None = None, backoff_s: float = 0.5) -> None:
        self.url = url
        self.settings = settings
        self.name = name or host_name(url)
        self.backoff_s = backoff_s
        self._robots: dict[str, RobotFileParser] = {}
        self._root: Fetched | None = None
        self._kind = ""
        self._xml: Any = None

    def open(self) -> WebSource:
        """Fetch and classify the root URL; SourceError when it cannot be fetched at all."""
        with Fetcher(self.settings, backoff_s=self.backoff_s, robots=self._robots) as fetcher:
            try:
                self._root = fetcher.get(self.url)
            except FetchError as exc:
                raise SourceError(
                    f"cannot fetch source URL {self.url!r}: {exc}. Check the address and that "
                    "the site is reachable; a URL source must be a sitemap, a feed or a page."
                ) from exc
        self._kind, self._xml = classify(self._root)
        logger.info("source %s is a %s", self.url, self._kind)
        return self

    @property
    def kind(self) -> str:
        if self._root is None:
            self.open()
        return self._kind

    def estimate(self) -> int | None:
        kind = self.kind
        if kind == "sitemap":
            return len(_sitemap_entries(self._xml, self.url))
        if kind == "feed":
            return len(self._feed().entries)
        return 1 if kind == "page" else None

    def _feed(self) -> Any:
        import feedparser

        assert self._root is not None
        return feedparser.parse(_unzip(self._root.content))

    def __iter__(self) -> Iterator[Release | Skip]:
        kind = self.kind
        assert self._root is not None
        with Fetcher(self.settings, backoff_s=self.backoff_s, robots=self._robots) as fetcher:
            if kind == "page":
                root = self._root
                yield self._guarded(lambda url: self._page_item(root, requested=url), self.url)
            elif kind == "feed":
                entries = list(self._feed().entries)
                yield from self._in_order(entries, lambda e: self._entry_item(fetcher, e))
            else:
                yield from self._walk_sitemap(fetcher, self._root.url, self._xml, kind, seen=set())

    # --- concurrency --------------------------------------------------------------------------

    def _in_order(self, items: Iterable[Any], work: Callable[[Any], Release | Skip]) -> Iterator[Release | Skip]:
        """Run `work` on a bounded pool, yielding results in input order (deterministic) while
        at most 2 x concurrency results wait in memory."""
        limit = self.settings.fetch_concurrency
        pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="pressbot-fetch")
        window: deque[Future[Release | Skip]] = deque()
        try:
            for item in items:
                window.append(pool.submit(self._guarded, work, item))
                if len(window) >= 2 * limit:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _guarded(work: Callable[[Any], Release | Skip], item: Any) -> Release | Skip:
        try:
            return work(item)
        except FetchError as exc:
            return Skip(_where(item), exc.reason, str(exc))
        except Exception as exc:  # noqa: BLE001 - one page's bug must not end the run
            logger.warning("processing %s failed", _where(item), exc_info=True)
            return Skip(_where(item), "unreadable", f"{type(exc).__name__}: {exc}")

    # --- sitemaps -----------------------------------------------------------------------------

    def _walk_sitemap(
        self, fetcher: Fetcher, url: str, root: Any, kind: str, seen: set[str], depth: int = 0
    ) -> Iterator[Release | Skip]:
        entries = _sitemap_entries(root, url)
        if kind == "sitemapindex":
            for child_url, _ in entries:
                if child_url in seen or depth >= MAX_SITEMAP_DEPTH:
                    continue
                seen.add(child_url)
                try:
                    child = fetcher.get(child_url)
                except FetchError as exc:
                    yield Skip(child_url, exc.reason, f"sitemap: {exc}")
                    continue
                child_kind, child_root = classify(child)
                if child_kind not in ("sitemap", "sitemapindex"):
                    yield Skip(child_url, "unsupported", "listed in a sitemap index, not a sitemap")
                    continue
                yield from self._walk_sitemap(fetcher, child.url, child_root, child_kind, seen, depth + 1)
            return
        pages = []
        for page_url, published in entries:
            if page_url not in seen:  # the same page listed twice is read once
                seen.add(page_url)
                pages.append((page_url, published))
        yield from self._in_order(pages, lambda p: self._sitemap_page(fetcher, *p))

    def _sitemap_page(self, fetcher: Fetcher, url: str, published: str | None) -> Release | Skip:
        return self._page_item(fetcher.get(url), requested=url, date_value=published)

    # --- pages --------------------------------------------------------------------------------

    def _extract_fetched(self, fetched: Fetched) -> Extracted | Skip:
        media = fetched.content_type
        if media == "application/pdf" or fetched.content[:5] == b"%PDF-":
            from ingest.extract import ExtractError

            try:
                return extract_pdf(fetched.content)
            except ExtractError as exc:
                return Skip(fetched.url, "unreadable", f"PDF: {exc}")
        if media and not (media.startswith("text/") or "html" in media or "xml" in media):
            return Skip(fetched.url, "unsupported", f"content type {media}")
        text = decode_page(fetched)
        if text is None:
            return Skip(fetched.url, "undecodable", "no charset fits the page")
        if not text.strip():
            return Skip(fetched.url, "empty", "empty response body")
        if media == "text/plain":
            return extract_text(text)
        return extract_html(text, url=fetched.url)

    def _page_item(self, fetched: Fetched, *, requested: str, date_value: str | None = None) -> Release | Skip:
        item = self._extract_fetched(fetched)
        if isinstance(item, Skip):
            return item
        if not item.text:
            return Skip(requested, "no_text", "no main text found on the page")
        if date_value:
            item = _with(item, date_value=date_value)
        return make_release(item, fallback_id=fetched.url, source=self.name, aliases=[requested, fetched.url])

    # --- feeds --------------------------------------------------------------------------------

    def _entry_item(self, fetcher: Fetcher, entry: Any) -> Release | Skip:
        link = http_url(entry.get("link"), self.url)
        title = entry.get("title") or None
        date_value = _entry_date(entry)
        location = link or entry.get("id") or title or "feed entry"
        page_url: str | None = None
        content = entry.get("content") or []
        body = next((c.get("value") for c in content if (c.get("value") or "").strip()), None)
        if body:
            text = extract_html_fragment(body)
        elif link:
            page = self._extract_fetched(fetcher.get(link))
            if isinstance(page, Skip):
                return page
            text = page.text
            title = title or page.title
            date_value = date_value or page.date
            page_url = page.url
        else:
            text = clean_text(extract_html_fragment(entry.get("summary") or ""))
        if not text:
            return Skip(location, "no_text", "feed entry without text")
        extracted = finish(title=title, text=text, date_value=date_value, url=link, language=entry.get("language"))
        aliases = [entry.get("id") or "", page_url or ""]
        fallback = link or str(entry.get("id") or location)
        return make_release(extracted, fallback_id=fallback, source=self.name, aliases=aliases)


def _entry_date(entry: Any) -> Any:
    """The entry's written date (no UTC shift), else feedparser's parsed one."""
    for key in ("published", "updated", "created"):
        if entry.get(key):
            return entry[key]
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return time.strftime("%Y-%m-%d", parsed) if parsed else None


def _with(item: Extracted, *, date_value: str) -> Extracted:
    from ingest.dates import parse_date_value

    when = parse_date_value(date_value)
    if when is not None:
        item.date = when
    return item


def _where(item: Any) -> str:
    if isinstance(item, tuple):
        return str(item[0])
    if isinstance(item, dict):
        return str(item.get("link") or item.get("id") or "feed entry")
    return str(item)

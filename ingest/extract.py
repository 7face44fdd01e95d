"""Per-format extraction: Markdown with front matter, HTML, plain text, PDF -> `Extracted`.

Extractors are pure functions of the file's content (no paths, no I/O) so the folder, JSON and
web sources share them. They fill what the content says and nothing more: a date comes from
metadata or a dateline, never from a mention in the body (see `ingest.dates`).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

import frontmatter
import yaml

from ingest.clean import clean_text, clean_title, html_to_text, is_chrome_line
from ingest.dates import find_dateline, parse_date_value
from ingest.language import UNDETERMINED, detect_language, normalize_language

logger = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200

# Front matter / JSON keys, in order of preference.
TITLE_KEYS = ("title", "headline", "name", "subject")
DATE_KEYS = (
    "date", "published_time", "published", "published_at", "pubDate", "pubdate",
    "date_published", "datePublished", "publication_date", "created_at", "created", "issued",
)  # fmt: skip
URL_KEYS = ("source_url", "canonical_url", "url", "link", "permalink", "href")
LANGUAGE_KEYS = ("language", "lang", "locale")


class ExtractError(Exception):
    """The content is not what its format promises (a corrupt PDF): the file is unreadable."""


@dataclass
class Extracted:
    """What one document says about itself, cleaned; `text` may be "" (no usable text)."""

    title: str
    text: str
    date: date | None = None
    url: str | None = None
    language: str = UNDETERMINED
    # what the document said that could not be used (a broken front matter field): the
    # source logs these with the file's name
    problems: list[str] = field(default_factory=list)


# --- shared helpers ---------------------------------------------------------------------------


def first_item(meta: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any]:
    """(key, value) of the first non-empty value among `keys` (exact key, then
    case-insensitive); ("", None) when there is none."""
    lowered = {str(k).lower(): v for k, v in meta.items()}
    for key in keys:
        value = meta.get(key, lowered.get(key.lower()))
        if isinstance(value, dict) and "rendered" in value:  # WordPress REST: {"rendered": ...}
            value = value["rendered"]
        if value not in (None, "", [], {}):
            return key, value
    return "", None


def first_value(meta: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The first non-empty value among `keys` (exact key, then case-insensitive)."""
    return first_item(meta, keys)[1]


def http_url(value: Any, base: str | None = None) -> str | None:
    """An absolute http(s) URL from `value` (resolved against `base`), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    url = urljoin(base, value.strip()) if base else value.strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def looks_like_html(text: str) -> bool:
    return bool(
        re.search(r"<(?:p|div|br|span|a|ul|ol|li|h[1-6]|table|strong|em|b|i)\b[^>]*>", text[:5000], re.IGNORECASE)
    )


def _same_title(line: str, title: str) -> bool:
    norm = lambda s: re.sub(r"[\W_]+", "", s).lower()  # noqa: E731 - a one-off key
    return bool(title) and norm(line) == norm(title)


def split_title(text: str) -> tuple[str, str]:
    """Title from the first content line; (title, rest of the text).

    A long first line is a paragraph, not a title: then the title is its first words and the
    text keeps the line.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or is_chrome_line(s):
            continue
        if len(s) <= MAX_TITLE_CHARS:
            return s.lstrip("#-* ").strip() or s, "\n".join(lines[i + 1 :]).strip()
        cut = s[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
        return cut.rstrip(",;:") + "…", text.strip()
    return "", text.strip()


def finish(
    *,
    title: str | None,
    text: str,
    date_value: Any = None,
    url: str | None = None,
    language: Any = None,
) -> Extracted:
    """Common last steps: drop a repeated title line, fall back to the first line as title,
    a dateline when no metadata date, detected language unless one was declared."""
    title = clean_title(title) if title else ""
    first = text.lstrip().split("\n", 1)[0]
    if title and _same_title(first, title):
        text = text.lstrip().split("\n", 1)[1].strip() if "\n" in text.strip() else ""
    if not title:
        title, text = split_title(text)
    when = parse_date_value(date_value) if date_value is not None else None
    if when is None:
        when = find_dateline(text)
    lang = normalize_language(language) or detect_language(text)
    return Extracted(title=title, text=text, date=when, url=url, language=lang)


# --- Markdown ---------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML where a date-shaped scalar that is no date (`date: 2024-13-45`) stays a
    string, instead of failing the whole front matter."""

    def construct_yaml_timestamp(self, node: Any) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)

_YAML_ERRORS = (yaml.YAMLError, ValueError, TypeError, RecursionError)
_FIELD_LINE = re.compile(r"^([^\s#:][^:]*?)\s*:(?:\s+(.*))?$")  # a top-level "key: value"
_QUOTES = "\"'"


def _yaml_mapping(text: str) -> dict[str, Any]:
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"a {type(data).__name__}, not key: value fields")
    return {str(k): v for k, v in data.items()}


def _fields_one_by_one(block: str, problems: list[str]) -> dict[str, Any]:
    """Front matter that is not valid YAML as a whole, read one top-level field at a time (a
    field is its `key:` line and the indented or `- ` lines under it): every field that parses
    is kept, a one-line value that does not is kept as plain text, the rest is reported."""
    entries: list[tuple[str, str, list[str]]] = []  # (key, first line's value, lines)
    for line in block.split("\n"):
        if entries and (not line.strip() or line[:1].isspace() or line.startswith("- ")):
            entries[-1][2].append(line)  # a continuation of the field above
        elif m := _FIELD_LINE.match(line):
            entries.append((m.group(1), (m.group(2) or "").strip(), [line]))
        elif line.strip() and not line.lstrip().startswith("#"):
            problems.append(f"front matter line {line.strip()[:60]!r} is not a `key: value` field; ignored")
    meta: dict[str, Any] = {}
    for key, value, lines in entries:
        try:
            meta.update(_yaml_mapping("\n".join(lines).rstrip()))
            continue
        except _YAML_ERRORS as exc:
            reason = str(exc).split("\n", 1)[0]
        if len(lines) == 1 and value and value[0] not in "[{|>&*!%@`":
            if value[0] in _QUOTES and len(value) > 1 and value[-1] == value[0]:
                value = value[1:-1]  # `title: "Talks "resume" today"`: the quotes were meant as outer ones
            meta[key] = value
            problems.append(f"front matter field {key!r} is not valid YAML ({reason}); read as plain text {value!r}")
        else:
            problems.append(f"front matter field {key!r} is not valid YAML ({reason}); ignored")
    return meta


def _split_front_matter(raw: str) -> tuple[str, str, bool] | None:
    """(front matter, body, closed) of a document opening with a `---` line, else None.
    Without a closing `---` the front matter runs to the first blank line, if it starts with
    a field (else the `---` is a thematic break)."""
    text = raw.lstrip("\ufeff").lstrip()
    head = re.match(r"-{3,}[ \t]*\r?\n", text)
    if head is None:
        return None
    rest = text[head.end() :]
    close = re.search(r"^(?:-{3,}|\.\.\.)[ \t]*\r?$", rest, re.MULTILINE)
    if close is not None:
        return rest[: close.start()], rest[close.end() :], True
    if not _FIELD_LINE.match(rest.split("\n", 1)[0].rstrip()):
        return None
    block, _, body = rest.partition("\n\n")
    return block, body, False


def _front_matter(raw: str) -> tuple[dict[str, Any], str, list[str]]:
    """(fields, body, problems) of Markdown with YAML front matter. A front matter that does
    not parse as a whole is read field by field: one bad field must not lose the title, date
    and URL, nor turn the front matter into body text."""
    split = _split_front_matter(raw)
    if split is None:
        if isinstance(frontmatter.detect_format(raw, frontmatter.handlers), frontmatter.JSONHandler):
            try:
                post = frontmatter.loads(raw)
                return dict(post.metadata), post.content, []
            except (ValueError, TypeError, RecursionError) as exc:
                return {}, raw, [f"JSON front matter does not parse ({exc}); read as text"]
        return {}, raw, []
    block, body, closed = split
    block = block.replace("\r\n", "\n")
    problems = [] if closed else ["front matter has no closing `---` line; taken to end at the first blank line"]
    try:
        return _yaml_mapping(block), body, problems
    except _YAML_ERRORS as exc:
        problems.append(f"front matter is not valid YAML ({str(exc).splitlines()[0]}); read field by field")
    return _fields_one_by_one(block, problems), body, problems


def extract_markdown(raw: str) -> Extracted:
    """Markdown, optionally with YAML front matter (`title`, `date`/`published_time`,
    `source_url`/`url`, `lang`). Without a title, the first `# heading` or line is used.
    Front matter values that cannot be used are listed in `problems`."""
    meta, body, problems = _front_matter(raw)
    text = clean_text(body, markdown=True)
    date_key, date_value = first_item(meta, DATE_KEYS)
    if date_value is not None and parse_date_value(date_value) is None:
        problems.append(f"front matter field {date_key!r}: {str(date_value)[:60]!r} is not a date; ignored")
        date_value = None
    url_key, url_value = first_item(meta, URL_KEYS)
    url = http_url(url_value)
    if url_value is not None and url is None:
        problems.append(f"front matter field {url_key!r}: {str(url_value)[:80]!r} is not an http(s) URL; ignored")
    extracted = finish(
        title=_scalar_text(first_value(meta, TITLE_KEYS)),
        text=text,
        date_value=date_value,
        url=url,
        language=first_value(meta, LANGUAGE_KEYS),
    )
    extracted.problems = problems
    return extracted


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = " ".join(map(str, value))
    return str(value)


# --- plain text -------------------------------------------------------------------------------


def extract_text(raw: str) -> Extracted:
    """Plain text: the title is the first line that is not web chrome."""
    text = clean_text(raw)
    title, body = split_title(text)
    return finish(title=title, text=body)


# --- HTML -------------------------------------------------------------------------------------


def _page_meta(raw: str, base_url: str | None) -> dict[str, str | None]:
    """Canonical URL, title candidates and declared language from the page head."""
    from trafilatura.utils import load_html

    tree = load_html(raw)
    if tree is None:
        return {}

    def first(xpath: str) -> str | None:
        found = tree.xpath(xpath)
        return str(found[0]).strip() if found and str(found[0]).strip() else None

    canonical = first(
        '//link[contains(concat(" ", normalize-space(translate(@rel, '
        '"CANONICAL", "canonical")), " "), " canonical ")]/@href'
    )
    og_url = first('//meta[@property="og:url"]/@content')
    return {
        "url": http_url(canonical, base_url) or http_url(og_url, base_url),
        "og_title": first('//meta[@property="og:title"]/@content'),
        "title": first("//title/text()"),
        "h1": first("normalize-space(//h1)"),
        "lang": first("/html/@lang"),
    }


def _trafilatura_text(doc_text: str) -> str:
    """trafilatura puts one block per line: make them paragraphs, keep lists together."""
    out: list[str] = []
    for line in doc_text.split("\n"):
        is_item = line.lstrip().startswith("- ")
        if out and not (is_item and out[-1].lstrip().startswith("- ")):
            out.append("")
        out.append(line)
    return "\n".join(out)


def extract_html(raw: str, *, url: str | None = None) -> Extracted:
    """A full HTML page: main content via trafilatura (navigation and site chrome removed),
    title from page metadata, date from htmldate's markup-only search (no guessing from body
    text), URL from <link rel=canonical> or og:url."""
    import trafilatura

    meta = _page_meta(raw, url)
    doc = None
    try:
        doc = trafilatura.bare_extraction(
            raw,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # noqa: BLE001 - a parser failure on one page falls back below
        logger.warning("trafilatura failed on %s: %s", url or "a page", exc)
    doc_text = getattr(doc, "text", None) or ""
    # trafilatura finds nothing on some very short pages: then read the body without chrome
    body = _trafilatura_text(doc_text) if doc_text.strip() else html_to_text(raw, page=True)
    text = clean_text(body)
    title = getattr(doc, "title", None) or meta.get("og_title") or meta.get("h1") or meta.get("title")
    return finish(
        title=title,
        text=text,
        date_value=getattr(doc, "date", None),
        url=meta.get("url"),
        language=_declared_html_lang(meta.get("lang"), text),
    )


def _declared_html_lang(lang: str | None, text: str) -> str | None:
    # Templates often declare lang="en" on pages in other languages: detect when there is text
    # enough to judge, and trust the declaration only for very short pages.
    if detect_language(text) != UNDETERMINED:
        return None
    return lang


def extract_html_fragment(fragment: str) -> str:
    """An HTML body fragment (a JSON `content_html`, a feed entry's content) to clean text."""
    return clean_text(html_to_text(fragment))


# --- PDF --------------------------------------------------------------------------------------

_JUNK_PDF_TITLE = re.compile(r"^(?:untitled|microsoft\s+word\b.*|document\d*|.*\.(?:docx?|pdf|rtf|odt|indd))$", re.I)


def extract_pdf(data: bytes) -> Extracted:
    """Text of every page (pypdf); title from the document info unless it is a file name."""
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about every oddity of a real PDF
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise ExtractError("the PDF is encrypted")
            pages = [page.extract_text() or "" for page in reader.pages]
            info = reader.metadata
            meta_title = info.title if info is not None else None
    except ExtractError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on corrupt files
        raise ExtractError(f"{type(exc).__name__}: {exc}") from exc
    text = clean_text("\n\n".join(pages))
    title = str(meta_title).strip() if meta_title else ""
    if _JUNK_PDF_TITLE.match(title):
        title = ""
    return finish(title=title or None, text=text)


# --- bytes ------------------------------------------------------------------------------------


# Among equally plausible single-byte encodings, prefer Western European ones: the archives
# this reads are English and Spanish, and charset detection on short texts picks cp1250
# ("Seńor") as readily as cp1252 ("Señor").
_PREFERRED_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
_MAX_ODD_CHAR_RATIO = 0.01


def _plausible_text(text: str) -> bool:
    """Few control, private-use or unassigned characters: real text, not decoded noise."""
    if not text:
        return True
    odd = sum(1 for ch in text if not ch.isprintable() and ch not in "\n\r\t" and unicodedata.category(ch) != "Zs")
    return odd <= _MAX_ODD_CHAR_RATIO * len(text)


def decode_bytes(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else charset detection; None when the
    bytes are not convincingly text in any encoding."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    candidates: list[str] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates.append("utf-16")
    from charset_normalizer import from_bytes

    results = list(from_bytes(data[:1_000_000]))
    if results:
        least = min(r.chaos for r in results)
        close = [r.encoding for r in results if r.chaos <= least + 0.01 and r.chaos <= 0.2]
        candidates += [e for e in _PREFERRED_ENCODINGS if e in close]
        candidates += close
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _plausible_text(text):
            return text
    return None

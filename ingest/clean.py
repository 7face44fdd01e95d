"""Text clean-up shared by every extractor.

Archives arrive as pandoc-converted Markdown (escapes, hard wraps at ~72 columns, inline HTML),
scraped web text (skip-link chrome, share/print buttons) or plain renderings of HTML. The goal
is clean prose: paragraphs separated by one blank line, list items one per line, no markup,
no boilerplate markers. Everything here is pure string work (English and Spanish alike).
"""

from __future__ import annotations

import html
import re
import unicodedata

# --- characters -----------------------------------------------------------------------------

# Spaces that should read as a plain space; invisible characters that only break words apart
# (the White House titles carry U+2060 word joiners inside "COVID-19").
_SPACE_CHARS = re.compile("[\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u3000\t\f\v]")
_DROP_CHARS = re.compile("[\u200b\u2060\ufeff\u00ad]")


def normalize_chars(text: str) -> str:
    """Unify newlines, compose accents (NFC), turn exotic spaces into spaces, drop joiners."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        text = _DROP_CHARS.sub("", text)
    return _SPACE_CHARS.sub(" ", text)


# --- pandoc escapes -------------------------------------------------------------------------

_ASCII_PUNCT = r"""!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~"""
# One left-to-right pass, so `\\` is consumed as a pair before a following `\#` or newline.
_ESCAPE_RE = re.compile(rf"\\([{_ASCII_PUNCT}]| |\n)")


def undo_pandoc_escapes(text: str) -> str:
    r"""`\[` -> `[`, `\#` -> `#`, `\$` -> `$`, `\\` -> `\`; `\ ` (pandoc's nbsp) -> space;
    backslash-newline (pandoc's hard line break) -> newline.

    Only a backslash before ASCII punctuation is an escape, so `C:\Users` survives.
    """
    return _ESCAPE_RE.sub(lambda m: m.group(1), text)


# While Markdown syntax is stripped, escaped characters must not be mistaken for syntax
# (`\*` is a literal star, not emphasis), so they are parked in a private-use plane.
_PARK_BASE = 0xF0000


def _park(m: re.Match[str]) -> str:
    ch = m.group(1)
    if ch == "\n":
        return HARD_BREAK + "\n"
    if ch == " ":
        return "\u00a0"
    return chr(_PARK_BASE + ord(ch))


def _park_escapes(text: str) -> str:
    return _ESCAPE_RE.sub(_park, text)


_PARKED_RE = re.compile(f"[{chr(_PARK_BASE)}-{chr(_PARK_BASE + 127)}]")


def _unpark(text: str) -> str:
    return _PARKED_RE.sub(lambda m: chr(ord(m.group(0)) - _PARK_BASE), text)


# --- boilerplate ------------------------------------------------------------------------------

# Whole lines that carry no content, anywhere in a document (matched case-insensitively after
# stripping). Kept conservative: a line is dropped only when it is exactly one of these.
_CHROME_LINES = re.compile(
    r"""^(?:
        press\s+["“”']?enter["“”']?\s+to\s+skip\s+to\s+(?:main\s+)?content\.?
      | skip\s+to\s+(?:main\s+)?content | skip\s+navigation | jump\s+to\s+content
      | saltar\s+al\s+contenido(?:\s+principal)? | ir\s+al\s+contenido(?:\s+principal)?
      | for\s+immediate\s+release[.:]? | para\s+(?:su\s+)?(?:publicaci[oó]n|difusi[oó]n)\s+inmediata[.:]?
      | end\s+(?:of\s+)?text\.? | fin\s+del\s+texto\.?
      | share(?:\s+this(?:\s+(?:page|article|story))?)?:? | print(?:\s+this\s+page)? | tweet | email
      | share\s+on\s+(?:facebook|twitter|x|linkedin|whatsapp) | copy\s+link | link\s+copied
      | compartir(?:\s+en\s+\w+)?:? | imprimir | copiar\s+enlace
      | facebook | twitter | linkedin | whatsapp
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Lines made only of marker symbols: "# # #", "###", "***", "---", "- 30 -" (end-of-release
# marks and separators). They become paragraph breaks, never text.
_MARKER_LINE = re.compile(r"^(?:[#*_=~•·.\-–—\s]+|-?\s*30\s*-?)$")
# Issuing-office openers that only repeat the source (State Department items), first line only.
_OPENER_LINES = re.compile(
    r"^(?:office\s+of\s+the\s+spokesperson|oficina\s+del?\s+(?:la\s+)?portavoz)\.?$", re.IGNORECASE
)


_CHROME_MAX_CHARS = 60  # every chrome line is short; long lines skip the regexes (speed)


def is_chrome_line(line: str) -> bool:
    """True for a line that is web chrome or an end marker rather than content."""
    s = line.strip()
    if not s or (len(s) > _CHROME_MAX_CHARS and s[0] not in "#*_=~-–—•·."):
        return False
    return bool(_CHROME_LINES.match(s) or _MARKER_LINE.match(s))


# An end mark glued to the last sentence: "... vice Russell Vought. ###"
_TRAILING_MARK = re.compile(r"\s*(?:#\s*){3}$")


def drop_boilerplate(text: str) -> str:
    """Remove chrome/marker lines (left as blank lines, so paragraphs stay apart), end marks
    glued to a line, and an issuing-office opener on the first content line."""
    out: list[str] = []
    seen_content = False
    for line in text.split("\n"):
        if line.endswith("#"):
            line = _TRAILING_MARK.sub("", line)
        s = line.strip()
        if s and (is_chrome_line(s) or (not seen_content and _OPENER_LINES.match(s))):
            out.append("")
            continue
        seen_content = seen_content or bool(s)
        out.append(line)
    return "\n".join(out)


# --- hard wraps -------------------------------------------------------------------------------

# Letters count as list markers only as "(a)"/"(iv)"/"(A)"/"a)": a wrapped line may start
# "U. S.", "(PSAs) and", "rice) rather than" or "(202) 646-3272".
_LIST_ITEM = re.compile(r"^(?:[-*+•·▪●]\s+|\(?\d{1,2}[.)]\s+|\((?:[a-z]|[A-Z]|[ivx]{2,4})\)\s+|[a-z]\)\s+)")
# Markdown lists use only these markers, and a list cannot interrupt a paragraph.
_MD_LIST_ITEM = re.compile(r"^(?:[-*+]|\d{1,3}[.)])\s+")
_HEADING = re.compile(r"^#{1,6}\s")
# An explicit line break (<br>, pandoc's backslash-newline) travels as this private-use
# character (str.strip keeps it) until unwrap has run. Trailing double spaces count only in
# plain text: pandoc leaves them all over its output, mostly where no break was meant.
HARD_BREAK = "\U000f0100"


def _hard_break(line: str, markdown: bool) -> bool:
    return line.endswith(HARD_BREAK) or (not markdown and line.endswith("  "))


def _wrap_width(lines: list[str]) -> int | None:
    """The column a plain text seems hard-wrapped at, or None when it is not hard-wrapped.

    Hard-wrapped text has many lines and nearly all of them stop short of ~100 columns; text
    with one paragraph per line has long lines, and its single newlines must be kept.
    """
    lengths = sorted(len(s) for s in (ln.strip() for ln in lines) if s)
    if len(lengths) < 4:
        return None
    p90 = lengths[int(len(lengths) * 0.9) - 1]
    if p90 > 100 or p90 < 30:
        return None
    near_width = sum(1 for n in lengths if n >= 0.7 * p90)
    return p90 if near_width >= 0.5 * len(lengths) else None  # most lines end near the margin


def unwrap(text: str, *, soft_wrap: bool | None = None) -> str:
    """Join the lines of a paragraph; keep paragraph breaks, list items and hard breaks.

    soft_wrap=True is Markdown semantics (a single newline is a space; list items start a
    new line only inside a list). None decides from the text: a hard-wrapped text is joined
    except after a short line (a paragraph or heading that ended early); otherwise single
    newlines are kept as they are.
    """
    markdown = soft_wrap is True
    lines = text.split("\n")
    width = None
    if not markdown:
        width = _wrap_width(lines)
        if width is None:
            return "\n".join(ln.rstrip() for ln in lines).replace(HARD_BREAK, "")
    out: list[str] = []
    prev_joinable = False
    in_list = False
    for raw in lines:
        s = raw.strip().rstrip(HARD_BREAK).rstrip()
        if not s:
            out.append("")
            prev_joinable = in_list = False
            continue
        if markdown:
            is_item = bool(_MD_LIST_ITEM.match(s)) and (in_list or not prev_joinable)
            in_list = in_list or is_item
        else:
            is_item = bool(_LIST_ITEM.match(s))
        if prev_joinable and not is_item and not _HEADING.match(s):
            hyphenated = not markdown and re.search(r"[^\W\d]-$", out[-1]) and s[0].islower()
            out[-1] += s if hyphenated else " " + s  # "gov-" + "ernment" keeps its hyphen
        else:
            out.append(s)
        full = width is None or len(raw.rstrip()) >= 0.6 * width  # a short line ends a paragraph
        prev_joinable = full and not (
            _HEADING.match(out[-1]) or _hard_break(raw, markdown) or raw.rstrip().endswith(HARD_BREAK)
        )
    return "\n".join(out).replace(HARD_BREAK, "")


# --- whitespace -------------------------------------------------------------------------------


def normalize_whitespace(text: str) -> str:
    """Single spaces inside lines, no trailing spaces, at most one blank line between blocks."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = "\n".join(ln.strip() for ln in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# --- Markdown ---------------------------------------------------------------------------------

_BLOCK_TAGS = (
    "p|div|table|thead|tbody|tfoot|tr|ul|ol|li|h[1-6]|figure|figcaption|blockquote|section|"
    "article|header|footer|dl|dt|dd|pre|hr|caption|colgroup"
)
_RE_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_RE_DROP_ELEMENTS = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_RE_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^<>\s]+|[\w.+-]+@[\w-]+\.[\w.-]+)>")
_RE_CELL_BOUNDARY = re.compile(r"</t[dh]>\s*<t[dh]\b[^>]*>", re.IGNORECASE)
_RE_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_RE_LI = re.compile(r"<li\b[^>]*>", re.IGNORECASE)
_RE_BLOCK_TAG = re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^>]*>", re.IGNORECASE)
_RE_ANY_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9:-]*\b[^>]*>")
_RE_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")


def unescape_entities(text: str) -> str:
    """Decode `&amp;`-style entities, only complete ones (so "R&D" or "&copy" stay as they are)."""
    return _RE_ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def strip_inline_html(text: str) -> str:
    """Turn HTML embedded in Markdown into text: block elements become paragraph breaks,
    table cells are joined with " | ", <br> is a hard break, other tags vanish."""
    text = _RE_COMMENT.sub("", text)
    text = _RE_DROP_ELEMENTS.sub("", text)
    text = _RE_AUTOLINK.sub(r"\1", text)
    text = _RE_CELL_BOUNDARY.sub(" | ", text)
    text = _RE_BR.sub(HARD_BREAK + "\n", text)
    text = _RE_LI.sub("\n\n- ", text)
    text = _RE_BLOCK_TAG.sub("\n\n", text)
    text = _RE_ANY_TAG.sub("", text)
    return unescape_entities(text)


_RE_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_URL_PARENS = r"(?:[^()\s]|\((?:[^()\s]|\([^()\s]*\))*\))*"  # two levels: ".../(S(x))/..."
_RE_LINK = re.compile(rf"\[([^\]]*)\]\(({_URL_PARENS})(?:\s+\"[^\"]*\")?\)")
# A last resort for links whose URL has unbalanced parentheses (text fragments such as
# "#:~:text=(USW,"): the URL ends at the first ")" that is followed by a space or punctuation.
_RE_LOOSE_LINK = re.compile(r"\[([^\]\n]*)\]\((https?://\S*?)\)(?=[\s.,;:!?”\"']|$)")
_RE_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_RE_SPAN_ATTR = re.compile(r"\[([^\]]*)\]\{[^}]*\}")
_RE_FOOTNOTE_REF = re.compile(r"\[\^[^\]]+\]")
_RE_LINK_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$", re.MULTILINE)
# Emphasis is matched within one paragraph (the text is split on blank lines first).
_IN_PARA = r".+?"
_RE_STRONG = re.compile(rf"(\*\*|__)(?=\S)({_IN_PARA})\1", re.DOTALL)
_RE_EM_STAR = re.compile(rf"(?<![*\w])\*(?=[^\s*])({_IN_PARA})(?<=[^\s*])\*(?![*\w])", re.DOTALL)
_RE_EM_UNDER = re.compile(rf"(?<![_\w])_(?=\S)({_IN_PARA})(?<=\S)_(?![_\w])", re.DOTALL)
_RE_STRIKE = re.compile(rf"~~(?=\S)({_IN_PARA})(?<=\S)~~", re.DOTALL)
_RE_CODE = re.compile(r"`([^`\n]+)`")
_RE_HEADING_LINE = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_RE_SETEXT = re.compile(r"^(?:=+|-+)\s*$")
_RE_FENCE = re.compile(r"^\s*(?:```|~~~)")


def _strip_block_markers(text: str) -> str:
    """Per line: headings become their own paragraph, quote/line-block marks go, list markers
    are unified to "- " / "1. ", code fences and thematic breaks vanish."""
    out: list[str] = []
    for line in text.split("\n"):
        s = line.strip()
        if _RE_FENCE.match(s):
            out.append("")
            continue
        while s.startswith(">"):
            s = s[1:].lstrip()
        if s.startswith("| ") or s == "|":
            s = s[1:].strip() + HARD_BREAK  # pandoc line block: each line keeps its break
        m = _RE_HEADING_LINE.match(s)
        if m:
            out.extend(["", "#" * len(m.group(1)) + " " + m.group(2), ""])
            continue
        if _RE_SETEXT.match(s) and out and out[-1].strip():
            # a setext underline or thematic break: the line above ends its paragraph
            out.append("")
            continue
        indent = line[: len(line) - len(line.lstrip())] if s else ""
        bullet = re.match(r"^[-*+]\s+(.*)$", s)
        if bullet and not _MARKER_LINE.match(s):
            s = "- " + bullet.group(1)
        else:
            s = re.sub(r"^(\d{1,3}[.)])\s{2,}", r"\1 ", s)  # pandoc pads "1.  item"
        out.append(indent + s if s else "")
    return "\n".join(out)


def _link_text(m: re.Match[str]) -> str:
    # a link whose text is its own URL: the href is intact, the text may be hard-wrapped
    text, href = m.group(1), m.group(2)
    return href if text.startswith(("http://", "https://")) and href else text


_INLINE_SYNTAX = re.compile(r"[*_\[~`]")


def _strip_inline_paragraph(text: str) -> str:
    if not _INLINE_SYNTAX.search(text):
        return text  # most paragraphs: nothing to do (this is the hot path on transcripts)
    text = _RE_IMAGE.sub("", text)
    text = _RE_FOOTNOTE_REF.sub("", text)
    for _ in range(2):  # links inside emphasis and emphasis inside links
        before = text
        text = _RE_LINK.sub(_link_text, text)
        text = _RE_REF_LINK.sub(r"\1", text)
        text = _RE_SPAN_ATTR.sub(r"\1", text)
        text = _RE_STRONG.sub(r"\2", text)
        text = _RE_EM_STAR.sub(r"\1", text)
        text = _RE_EM_UNDER.sub(r"\1", text)
        text = _RE_STRIKE.sub(r"\1", text)
        if text == before:
            break
    if "](" in text:
        text = _RE_LOOSE_LINK.sub(_link_text, text)
    text = _RE_CODE.sub(r"\1", text)
    return text.replace("**", "")  # an unpaired strong mark (real stars are escaped: parked)


def _strip_inline_markdown(text: str) -> str:
    # paragraph by paragraph: emphasis and links never span a blank line
    text = "\n\n".join(_strip_inline_paragraph(p) for p in text.split("\n\n"))
    # heading marks were kept through unwrap so headings stay their own paragraph
    return re.sub(r"^#{1,6} ", "", text, flags=re.MULTILINE)


def markdown_to_text(md: str) -> str:
    """Pandoc-style Markdown (as in the White House archive) to plain paragraphs."""
    text = _park_escapes(normalize_chars(md))
    text = strip_inline_html(text)
    text = _RE_LINK_DEF.sub("", text)
    text = _strip_block_markers(text)
    # marker lines ("\###" after unparking) must not be glued onto the paragraph above
    text = "\n".join("" if _MARKER_LINE.match(_unpark(ln).strip() or "x") else ln for ln in text.split("\n"))
    text = unwrap(text, soft_wrap=True)
    text = _strip_inline_markdown(text)
    text = _unpark(text)
    return text.replace("\u00a0", " ")


_PAGE_CHROME = re.compile(
    r"<(head|nav|header|footer|aside|form|script|style|noscript|svg|iframe|template)\b.*?</\1\s*>",
    re.DOTALL | re.IGNORECASE,
)


def html_to_text(markup: str, *, page: bool = False) -> str:
    """HTML to paragraphs without a parser's opinions: for body fragments (JSON `content_html`,
    feed content) and as the fallback for whole pages (`page=True` also drops head, navigation,
    header, footer, aside and forms)."""
    text = normalize_chars(markup)
    if page:
        text = _PAGE_CHROME.sub("", text)
    text = normalize_chars(strip_inline_html(text))
    text = unwrap(text, soft_wrap=True)
    # list items came out as separate paragraphs; keep a list together
    text = re.sub(r"(?m)^(- .*)\n\n+(?=- )", r"\1\n", text)
    return normalize_whitespace(text)


# --- entry points -----------------------------------------------------------------------------


def clean_text(text: str, *, markdown: bool = False) -> str:
    """Full clean-up of a release body. `markdown=True` also strips Markdown syntax and joins
    every soft-wrapped line; plain text is joined only when it looks hard-wrapped."""
    text = markdown_to_text(text) if markdown else undo_pandoc_escapes(normalize_chars(text))
    text = drop_boilerplate(text)
    if not markdown:
        text = unwrap(text)
    return normalize_whitespace(text)


def clean_title(title: str) -> str:
    """A title on one line: escapes undone, entities decoded, emphasis marks and joiners gone."""
    text = unescape_entities(undo_pandoc_escapes(normalize_chars(str(title))))
    text = _RE_ANY_TAG.sub("", text)
    text = _RE_STRONG.sub(r"\2", text)
    text = _RE_EM_STAR.sub(r"\1", text)
    text = _RE_LINK.sub(r"\1", text)
    return re.sub(r"\s+", " ", text).strip()

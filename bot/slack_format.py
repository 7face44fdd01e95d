"""Slack messages from an Answer: Block Kit plus the plain `text` fallback Slack always wants.

Layout: the answer (one or more sections), the sources (`[n] <url|title> · date`), then the
feedback buttons. Slack's limits are met by splitting and trimming, never by failing:
3000 characters per section text, 50 blocks, about 12k characters of block text in all.
mrkdwn needs `&`, `<` and `>` escaped (nothing else); inside a link the characters that
would end it (`|`, `>`) and a few that confuse renderers (`<`, `(`, `)`, spaces) are
percent-encoded in the URL, so odd URLs still render as links.
"""

from __future__ import annotations

from typing import Any

from pressbot.engine import ABSTAIN_TEXT
from pressbot.types import Answer, Citation

SECTION_LIMIT = 3000
BLOCK_LIMIT = 50
TOTAL_LIMIT = 12_000  # characters of text across all blocks
FALLBACK_LIMIT = 4000  # Slack shows the fallback in notifications; longer is truncated there anyway
TITLE_LIMIT = 250

PROGRESS_TEXT = "Searching the archive…"
POINTER_TEXT = "The answer is in the next message."  # a progress note Slack would not let the bot delete
APOLOGY_TEXT = "Sorry, something went wrong while answering this question. The problem has been logged."

HELPFUL = "helpful"
NOT_HELPFUL = "not_helpful"
FEEDBACK_ACTIONS = {f"feedback_{HELPFUL}": HELPFUL, f"feedback_{NOT_HELPFUL}": NOT_HELPFUL}

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_URL_UNSAFE = str.maketrans({c: f"%{ord(c):02X}" for c in "|<>() \t\n\""})
_RESERVED = 400  # room for the headers, notes and buttons around the answer and sources


def escape(text: str) -> str:
    """mrkdwn-escape `&`, `<`, `>` (the only characters Slack wants escaped)."""
    return text.translate(_ESCAPES)


def unescape(text: str) -> str:
    """Undo Slack's escaping of incoming message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def link(url: str, label: str) -> str:
    """`<url|label>` that survives `|`, `>`, `)` and spaces in the URL."""
    return f"<{escape(url.strip().translate(_URL_UNSAFE))}|{escape(label)}>"


def _shorten(text: str, limit: int, suffix: str = "…") -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - len(suffix)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return _no_broken_entity(cut).rstrip() + suffix


def _no_broken_entity(text: str) -> str:
    """Drop a trailing, cut-off `&amp;`/`&lt;`/`&gt;` so a split never shows half an escape."""
    amp = text.rfind("&", max(0, len(text) - 4))
    if amp != -1 and ";" not in text[amp:]:
        return text[:amp]
    return text


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph, sentence or word ends when possible."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        # cut after a paragraph, a line, a sentence ("." kept) or a word; else hard, but not inside "&amp;"
        ends = [window.rfind("\n\n"), window.rfind("\n"), window.rfind(". ") + 1, window.rfind(" ")]
        cut = next((e for e in ends if e > limit // 3), 0) or len(_no_broken_entity(window)) or limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _when(c: Citation) -> str:
    return c.date.isoformat() if c.date else "undated"


def source_line(c: Citation) -> str:
    title = _shorten(" ".join(c.title.split()) or c.release_id, TITLE_LIMIT)
    shown = link(c.url, title) if c.url else f"*{escape(title)}*"
    return f"[{c.n}] {shown} · {_when(c)}"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def feedback_block(answer_id: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            {
                "type": "button",
                "action_id": f"feedback_{HELPFUL}",
                "text": {"type": "plain_text", "text": ":thumbsup: Helpful", "emoji": True},
                "value": answer_id,
            },
            {
                "type": "button",
                "action_id": f"feedback_{NOT_HELPFUL}",
                "text": {"type": "plain_text", "text": ":thumbsdown: Not helpful", "emoji": True},
                "value": answer_id,
            },
        ],
    }


_SOURCES_HEADER = {"answered": "*Sources*", "unconfirmed": "*Closest passage*", "not_found": "*Closest releases*"}


def answer_text(ans: Answer) -> str:
    """What to show as the answer: for not_found, the plain statement (the closest releases are
    listed below it as links rather than repeated inline); unconfirmed keeps its quoted passage."""
    if ans.outcome == "not_found" and ans.answer.startswith(ABSTAIN_TEXT):
        return ABSTAIN_TEXT
    return ans.answer


def answer_message(ans: Answer, *, answer_id: str | None = None, asked_by: str | None = None) -> dict[str, Any]:
    """`{"text": ..., "blocks": [...]}` for chat.postMessage / chat.update / respond.

    `answer_id` adds the feedback buttons (their value); `asked_by` (a user id) adds a line
    naming who asked what, for slash-command answers that are not posted under the question.
    """
    blocks: list[dict[str, Any]] = []
    used = 0
    if asked_by:
        head = _context(f"<@{asked_by}> asked: {_shorten(escape(ans.question), 500)}")
        blocks.append(head)
        used += len(head["elements"][0]["text"])

    lines = [source_line(c) for c in ans.citations]
    note = _window_note(ans)
    used += len(note)
    sources_len = min(sum(len(line) + 1 for line in lines), SECTION_LIMIT)
    body = escape(answer_text(ans)).strip() or "(empty answer)"
    if ans.abstained:
        body = f":mag: {body}"
    budget = TOTAL_LIMIT - used - sources_len - _RESERVED
    if len(body) > budget:
        body = _shorten(body, budget, suffix=" … _(answer shortened)_")
    spare_blocks = BLOCK_LIMIT - len(blocks) - 3 - (1 if answer_id else 0)  # sources header, 1 source, note
    pieces = split_text(body)
    if len(pieces) > spare_blocks:
        last = _shorten(pieces[spare_blocks - 1], SECTION_LIMIT - 30, " … _(shortened)_")
        pieces = pieces[: spare_blocks - 1] + [last]
    for piece in pieces:
        blocks.append(_section(piece))
        used += len(piece)

    if lines:
        header = _SOURCES_HEADER[ans.outcome]
        blocks.append(_context(header))
        used += len(header)
        room_blocks = BLOCK_LIMIT - len(blocks) - (1 if answer_id else 0) - (1 if note else 0) - 1  # and "N more"
        shown, current = 0, ""
        for line in lines:
            candidate = f"{current}\n{line}" if current else line
            if used + len(line) + 1 > TOTAL_LIMIT - _RESERVED // 2:
                break
            if len(candidate) <= SECTION_LIMIT:
                current = candidate
            else:
                if room_blocks <= 1:
                    break
                blocks.append(_section(current))
                room_blocks -= 1
                current = line
            used += len(line) + 1
            shown += 1
        if current:
            blocks.append(_section(current))
        if shown < len(lines):
            blocks.append(_context(f"…and {len(lines) - shown} more"))
    if note:  # which dates were searched: a footer, never in front of the answer
        blocks.append(_context(f"Searched {note}"))
    if answer_id:
        blocks.append(feedback_block(answer_id))
    return {"text": fallback_text(ans), "blocks": blocks}


def _window_note(ans: Answer) -> str:
    note = ans.filters.get("window_note")
    return escape(str(note)) if note else ""


def fallback_text(ans: Answer) -> str:
    """The plain `text` of the message: notifications, screen readers, clients without blocks."""
    lines = [escape(answer_text(ans))]
    if ans.citations:
        lines.append(_SOURCES_HEADER[ans.outcome].strip("*") + ":")
        for c in ans.citations:
            lines.append(f"[{c.n}] {escape(c.title)} ({_when(c)})" + (f" {c.url}" if c.url else ""))
    if note := _window_note(ans):
        lines.append(f"Searched {note}")
    return _shorten("\n".join(lines), FALLBACK_LIMIT)


def notice_message(text: str) -> dict[str, Any]:
    """A short plain message (progress, apology, a user error)."""
    return {"text": escape(text)}


def block_text_length(blocks: list[dict[str, Any]]) -> int:
    """Characters of text in blocks, counted the way the limits above are meant."""
    total = 0
    for b in blocks:
        if "text" in b and isinstance(b["text"], dict):
            total += len(b["text"].get("text", ""))
        for el in b.get("elements", []):
            if el.get("type") in ("mrkdwn", "plain_text"):
                total += len(el.get("text", ""))
    return total

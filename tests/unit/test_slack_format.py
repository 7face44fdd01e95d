"""Slack message formatting (Block Kit + text fallback) and the other pure pieces of the Slack
face: question extraction, token checks, deduplication, pacing."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from pydantic import SecretStr

from bot.slack_app import ChannelQueues, question_text, require_secret
from bot.slack_dedupe import Deduper, event_keys
from bot.slack_format import (
    BLOCK_LIMIT,
    SECTION_LIMIT,
    TOTAL_LIMIT,
    answer_message,
    block_text_length,
    escape,
    fallback_text,
    link,
    split_text,
)
from pressbot.engine import ABSTAIN_TEXT
from pressbot.errors import ConfigError
from pressbot.types import Answer, Citation


def cite(n: int, title: str = "Statement on Haiti", url: str | None = "https://example.org/haiti",
         date: dt.date | None = dt.date(2021, 8, 20)) -> Citation:
    return Citation(n=n, release_id=f"r{n}", title=title, date=date, url=url, quote="quote")


def sections(msg: dict) -> list[str]:
    return [b["text"]["text"] for b in msg["blocks"] if b["type"] == "section"]


def check_limits(msg: dict) -> None:
    blocks = msg["blocks"]
    assert len(blocks) <= BLOCK_LIMIT
    assert all(0 < len(t) <= SECTION_LIMIT for t in sections(msg))
    assert block_text_length(blocks) <= TOTAL_LIMIT
    assert msg["text"]


def test_answer_with_sources_links_dates_and_feedback_buttons() -> None:
    ans = Answer(question="q", answer="The US gives $15 million [1]. Also shelter [2].", abstained=False,
                 citations=[cite(1), cite(2, "Undated note", url=None, date=None)])
    msg = answer_message(ans, answer_id="abc123")
    check_limits(msg)
    body, sources = sections(msg)
    assert body == "The US gives $15 million [1]. Also shelter [2]."
    assert sources == "[1] <https://example.org/haiti|Statement on Haiti> · 2021-08-20\n[2] *Undated note* · undated"
    assert msg["blocks"][1]["elements"][0]["text"] == "*Sources*"
    buttons = msg["blocks"][-1]
    assert buttons["type"] == "actions"
    assert [(e["action_id"], e["value"]) for e in buttons["elements"]] == [
        ("feedback_helpful", "abc123"), ("feedback_not_helpful", "abc123")]
    assert msg["text"].startswith("The US gives $15 million [1].")
    assert "[1] Statement on Haiti (2021-08-20) https://example.org/haiti" in msg["text"]


def test_no_feedback_buttons_without_an_answer_id_and_asker_is_named() -> None:
    ans = Answer(question="What about <Haiti> & co?", answer="x [1]", abstained=False, citations=[cite(1)])
    msg = answer_message(ans, asked_by="U5")
    assert all(b["type"] != "actions" for b in msg["blocks"])
    assert msg["blocks"][0]["elements"][0]["text"] == "<@U5> asked: What about &lt;Haiti&gt; &amp; co?"


def test_abstention_says_so_and_lists_the_closest_releases_as_links() -> None:
    text = f"{ABSTAIN_TEXT} The closest releases: [1] Statement on Haiti (2021-08-20) [2] Climate (2021-04-22)"
    ans = Answer(question="q", answer=text, abstained=True,
                 citations=[cite(1), cite(2, "Climate", "https://example.org/climate", dt.date(2021, 4, 22))])
    msg = answer_message(ans, answer_id="a1")
    check_limits(msg)
    body, sources = sections(msg)
    assert body == f":mag: {ABSTAIN_TEXT}"
    assert "*Closest releases*" in json.dumps(msg["blocks"])
    assert "<https://example.org/climate|Climate> · 2021-04-22" in sources
    assert msg["text"].startswith(ABSTAIN_TEXT + "\nClosest releases:")


def test_abstention_without_any_release() -> None:
    msg = answer_message(Answer(question="q", answer=ABSTAIN_TEXT, abstained=True))
    assert sections(msg) == [f":mag: {ABSTAIN_TEXT}"] and msg["text"] == ABSTAIN_TEXT


def test_mrkdwn_escaping_of_titles_and_text_only_touches_amp_lt_gt() -> None:
    ans = Answer(question="q", answer="R&D <b> *bold* _it_ 5 > 3 [1]", abstained=False,
                 citations=[cite(1, title="U.S. & <Mexico> | *talks*")])
    msg = answer_message(ans)
    body, sources = sections(msg)
    assert body == "R&amp;D &lt;b&gt; *bold* _it_ 5 &gt; 3 [1]"
    assert "|U.S. &amp; &lt;Mexico&gt; | *talks*>" in sources
    assert "R&amp;D &lt;b&gt;" in msg["text"]
    assert escape("a&b<c>d") == "a&amp;b&lt;c&gt;d"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.org/a|b", "https://ex.org/a%7Cb"),
        ("https://ex.org/a>b", "https://ex.org/a%3Eb"),
        ("https://en.wikipedia.org/wiki/Darién_(province)", "https://en.wikipedia.org/wiki/Darién_%28province%29"),
        ("https://ex.org/s?q=a b&c=<d>", "https://ex.org/s?q=a%20b&amp;c=%3Cd%3E"),
    ],
)
def test_urls_with_pipe_gt_or_paren_still_render_as_links(url: str, expected: str) -> None:
    rendered = link(url, "Title")
    assert rendered == f"<{expected}|Title>"
    # one link: the URL part has no character that would end it early
    assert re.fullmatch(r"<[^|<> ]+\|Title>", rendered)


def test_a_long_answer_is_split_into_sections_and_trimmed_to_the_total() -> None:
    sentence = "The Secretary announced new assistance for the region, including food and shelter. "
    ans = Answer(question="q", answer=sentence * 300 + "[1]", abstained=False, citations=[cite(1)])
    msg = answer_message(ans, answer_id="a1")
    check_limits(msg)
    body = sections(msg)[:-1]
    assert len(body) >= 3
    assert all(piece.endswith(".") for piece in body[:-1])  # cut at sentence ends
    assert body[-1].endswith("_(answer shortened)_")
    assert sections(msg)[-1].startswith("[1] <https://example.org/haiti|")  # the sources survive the trim


def test_many_sources_fit_the_block_and_character_limits() -> None:
    cites = [cite(i, title=f"Release {i} " + "word " * 60, url=f"https://example.org/{i}?a=1|2") for i in range(1, 301)]
    ans = Answer(question="q", answer="Short answer [1].", abstained=False, citations=cites)
    msg = answer_message(ans, answer_id="a1")
    check_limits(msg)
    shown = json.dumps(msg["blocks"], ensure_ascii=False)
    assert "[1] <https://example.org/1?a=1%7C2|Release 1 " in shown
    more = re.search(r"…and (\d+) more", shown)
    assert more is not None
    listed = len(re.findall(r"\[\d+\] <", shown))
    assert listed + int(more.group(1)) == 300
    assert msg["blocks"][-1]["type"] == "actions"


def test_a_long_title_is_shortened() -> None:
    ans = Answer(question="q", answer="a [1]", abstained=False, citations=[cite(1, title="T" * 5000)])
    msg = answer_message(ans)
    check_limits(msg)
    assert len(sections(msg)[1]) < 400


def test_split_text_never_cuts_inside_an_escape() -> None:
    text = escape("&<>" * 3000)  # no spaces to cut at
    pieces = split_text(text, 100)
    assert "".join(pieces) == text
    assert all(len(p) <= 100 and re.fullmatch(r"(&amp;|&lt;|&gt;)+", p) for p in pieces)


def test_fallback_text_is_capped() -> None:
    ans = Answer(question="q", answer="word " * 5000, abstained=False, citations=[cite(1)])
    assert len(fallback_text(ans)) <= 4000


# --- the other pure pieces of the Slack face ------------------------------------------------


def test_question_text_strips_the_bot_mention_and_unescapes() -> None:
    assert question_text("<@UBOT> What about R&amp;D &lt;2024&gt;?", "UBOT") == "What about R&D <2024>?"
    assert question_text("hey <@UBOT|pressbot>   which  countries?", "UBOT") == "hey which countries?"
    assert question_text("<@UOTHER> asked <@UBOT>", "UBOT") == "<@UOTHER> asked"
    assert question_text("<@UBOT>", "UBOT") == ""


@pytest.mark.parametrize(
    ("value", "problem"),
    [(None, "is not set"), ("  ", "is not set"), ("xoxb-...", "placeholder"), ("changeme", "placeholder"),
     ("xoxb-your-token-here", "placeholder"), ("xoxb-", "placeholder"), ("<token>", "placeholder"),
     ("xapp-1-A1-abc", "should start with 'xoxb-'")],
)
def test_require_secret_names_the_variable(value: str | None, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        require_secret(SecretStr(value) if value is not None else None, "SLACK_BOT_TOKEN", prefix="xoxb-")
    assert str(err.value).startswith("SLACK_BOT_TOKEN (or PRESSBOT_SLACK_BOT_TOKEN)")
    assert problem in str(err.value) and "docs/slack.md" in str(err.value)


def test_require_secret_accepts_real_looking_values() -> None:
    assert require_secret(SecretStr("xoxb-123-456-AbC"), "SLACK_BOT_TOKEN", prefix="xoxb-") == "xoxb-123-456-AbC"
    assert require_secret(SecretStr(" 8f742231b10e8888 "), "SLACK_SIGNING_SECRET") == "8f742231b10e8888"


def test_deduper_on_event_id_and_on_channel_ts() -> None:
    d = Deduper()
    mention = {"channel": "C1", "ts": "1.1", "type": "app_mention"}
    assert d.first_time(event_keys({"event_id": "Ev1"}, mention))
    assert not d.first_time(event_keys({"event_id": "Ev1"}, mention))  # a retry
    assert not d.first_time(event_keys({"event_id": "Ev2"}, {**mention, "type": "message"}))  # the pair
    assert not d.first_time(event_keys({"event_id": "Ev1"}, {"channel": "C9", "ts": "9.9"}))  # same id
    assert d.first_time(event_keys({"event_id": "Ev3"}, {**mention, "ts": "1.2"}))


def test_deduper_forgets_after_the_ttl_and_stays_bounded() -> None:
    now = [0.0]
    d = Deduper(ttl_s=60, max_keys=100, clock=lambda: now[0])
    assert d.first_time(["a"])
    now[0] = 59
    assert not d.first_time(["a"])
    now[0] = 61
    assert d.first_time(["a"])
    for i in range(500):
        d.first_time([f"k{i}"])
    assert len(d) == 100
    assert d.first_time(["k0"])  # the oldest were dropped first
    assert not d.first_time(["k499"])


def test_channel_queues_pace_each_channel_in_order_without_holding_the_others() -> None:
    import threading
    import time

    sent: list[tuple[str, int, float]] = []
    done = threading.Event()
    queues = ChannelQueues(interval_s=0.2, senders=1)  # one sender thread: pacing must not hold it
    t0 = time.monotonic()

    def job(channel: str, n: int) -> Any:
        def send() -> None:
            sent.append((channel, n, time.monotonic() - t0))
            if len(sent) == 5:
                done.set()
        return send

    for n in range(4):
        queues.post("C1", job("C1", n))
    queues.post("D1", job("D1", 0))
    assert done.wait(5)
    queues.shutdown()
    c1 = [(n, at) for ch, n, at in sent if ch == "C1"]
    assert [n for n, _ in c1] == [0, 1, 2, 3]  # in order
    assert all(b - a >= 0.19 for (_, a), (_, b) in zip(c1, c1[1:], strict=False))  # ~one per interval
    [(_, _, dm_at)] = [s for s in sent if s[0] == "D1"]
    # D1 went out at once, not behind C1's backlog: before C1's next slot, however slow the
    # machine (a bound in seconds fails under load though the order is right)
    assert [ch for ch, _, _ in sent][:2] == ["C1", "D1"] and dm_at < c1[1][1]


def test_the_manifest_in_docs_asks_for_what_the_app_handles() -> None:
    import pathlib

    import yaml

    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "slack.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)]
    manifest = blocks[0]
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {"app_mentions:read", "chat:write", "commands",
                                                               "im:history"}
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/ask"]
    assert manifest["settings"]["interactivity"]["is_enabled"] and manifest["settings"]["socket_mode_enabled"]
    http = blocks[1]["settings"]
    assert http["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert http["interactivity"]["request_url"].endswith("/slack/events")
    emulator = blocks[2]
    assert emulator["apps"][0]["botToken"] == "xoxb-test-token"


def test_the_searched_window_is_a_footer_line_not_the_answers_opening() -> None:
    ans = Answer(question="q", answer="The U.S. will provide $15 million. [1]", abstained=False,
                 citations=[cite(1)], filters={"window_note": "Releases dated 2021-08-01 to 2021-08-31"})
    msg = answer_message(ans, answer_id="a1")
    texts = [b["text"]["text"] if "text" in b else b.get("elements", [{}])[0].get("text", "")
             for b in msg["blocks"]]
    assert texts[0].startswith("The U.S. will provide $15 million.")
    footer = msg["blocks"][-2]  # just above the feedback buttons
    assert footer["type"] == "context"
    assert footer["elements"][0]["text"] == "Searched Releases dated 2021-08-01 to 2021-08-31"
    assert msg["text"].splitlines()[-1] == "Searched Releases dated 2021-08-01 to 2021-08-31"

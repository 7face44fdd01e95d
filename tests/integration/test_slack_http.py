"""Slack in HTTP mode, end to end on 127.0.0.1: signed Slack requests sent to the app served
by uvicorn (slack_router mounted on a FastAPI app), the real engine over a real Chroma index,
and the fake Slack Web API receiving what the bot posts."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from bot.slack_feedback import FeedbackStore
from bot.slack_format import APOLOGY_TEXT, PROGRESS_TEXT, block_text_length
from bot.slack_http import slack_router
from pressbot.config import Settings
from pressbot.engine import Engine
from pressbot.errors import ConfigError
from pressbot.types import Answer, Citation
from tests.integration.fake_slack import FakeSlack
from tests.support import build_engine, settings_for

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
HAITI = "What humanitarian assistance goes to Haiti?"


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return build_engine(tmp_path_factory.mktemp("slack-http"), abstain_threshold=0.0)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def slack_settings(tmp_path: Path, fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": fake.bot_token,
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.url,
        "feedback_db": tmp_path / "feedback.sqlite3",
    }
    values.update(overrides)
    return settings_for(tmp_path, **values)


class Served:
    """A FastAPI app with the Slack router, served by uvicorn on 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/slack/events"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def serve(tmp_path: Path, fake: FakeSlack) -> Iterator[Any]:
    """serve(engine, **settings overrides) -> the /slack/events URL of a running app."""
    stack: list[Served] = []

    def start(engine: Any, **overrides: Any) -> str:
        app = FastAPI()
        app.include_router(slack_router(slack_settings(tmp_path, fake, **overrides), engine))
        served = Served(app).__enter__()
        stack.append(served)
        return served.url

    yield start
    for served in stack:
        served.__exit__()


def signed_headers(body: str, *, secret: str = SECRET, timestamp: int | None = None, **extra: str) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", **extra}


def post_json(url: str, payload: dict[str, Any], **kw: Any) -> httpx.Response:
    body = json.dumps(payload)
    headers = {"Content-Type": "application/json", **signed_headers(body, **kw)}
    return httpx.post(url, content=body, headers=headers, timeout=10)


def post_form(url: str, form: dict[str, str]) -> httpx.Response:
    body = urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(body)}
    return httpx.post(url, content=body, headers=headers, timeout=10)


_ts = iter(range(100, 10_000))


def new_ts() -> str:
    return f"1718000000.{next(_ts):06d}"


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}], "event": event,
    }


def mention(text: str, *, channel: str = "C1", ts: str | None = None, **extra: Any) -> dict[str, Any]:
    ts = ts or new_ts()
    return {"type": "app_mention", "user": "U1", "text": f"<@UBOT> {text}", "ts": ts, "event_ts": ts,
            "channel": channel, **extra}


def message(text: str, *, channel: str = "D1", channel_type: str = "im", ts: str | None = None,
            **extra: Any) -> dict[str, Any]:
    ts = ts or new_ts()
    return {"type": "message", "user": "U1", "text": text, "ts": ts, "event_ts": ts, "channel": channel,
            "channel_type": channel_type, **extra}


def answered(channel: str, thread_ts: str) -> Any:
    """Predicate: the thread holds a message that is no longer the progress note."""
    return lambda f: any(m["text"] != PROGRESS_TEXT for m in f.thread(channel, thread_ts))


def all_text(msg: dict[str, Any]) -> str:
    return json.dumps(msg.get("blocks") or [], ensure_ascii=False) + msg.get("text", "")


class SlowEngine:
    """The real engine behind a 5-second wait (an answer that takes long; fake only in its delay)."""

    def __init__(self, engine: Engine, delay_s: float = 5.0) -> None:
        self.engine, self.delay_s = engine, delay_s

    def answer(self, question: str, **kw: Any) -> Answer:
        time.sleep(self.delay_s)
        return self.engine.answer(question, **kw)


class BrokenEngine:
    def answer(self, question: str, **kw: Any) -> Answer:
        raise RuntimeError("chroma went away")


class HugeEngine:
    """The real answer, blown up past every Slack limit: a 20k-character answer, 120 sources with odd URLs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def answer(self, question: str, **kw: Any) -> Answer:
        ans = self.engine.answer(question, **kw)
        cites = [
            Citation(n=i, release_id=f"r{i}", title=f"Release <{i}> & co | {'long title ' * 30}",
                     url=f"https://example.org/a|b>c)d?i={i}&x=1", quote="q")
            for i in range(1, 121)
        ]
        return ans.model_copy(update={"answer": (ans.answer + " ") * 200, "citations": cites})


# --- the tests ---------------------------------------------------------------------------


def test_signed_mention_gets_one_threaded_answer_with_citations(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(engine)
    ev = mention(HAITI, channel="C1")
    resp = post_json(url, event_callback(ev))
    assert resp.status_code == 200

    assert fake.wait_for(answered("C1", ev["ts"]))
    first = fake.calls_to("chat.postMessage")[0]
    assert first.params["text"] == PROGRESS_TEXT and first.params["thread_ts"] == ev["ts"]
    [reply] = fake.thread("C1", ev["ts"])  # the progress note, replaced by the answer
    shown = all_text(reply)
    assert "Statement on Haiti" in reply["text"] and "[1]" in reply["text"]
    assert "<https://example.org/wh-haiti|Statement on Haiti> · 2021-08-20" in shown
    assert "feedback_helpful" in shown and "feedback_not_helpful" in shown
    assert [c.method for c in fake.calls if c.method.startswith("chat.")] == ["chat.postMessage", "chat.update"]


def test_follow_up_mention_in_a_thread_is_answered_in_that_thread(
    engine: Engine, fake: FakeSlack, serve: Any
) -> None:
    url = serve(engine)
    root = new_ts()
    ev = mention(HAITI, channel="C2", thread_ts=root)
    assert post_json(url, event_callback(ev)).status_code == 200
    assert fake.wait_for(answered("C2", root))
    assert fake.thread("C2", ev["ts"]) == []


def test_direct_message_is_answered(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(engine)
    ev = message("Which countries receive the $180 million program?", channel="D7")
    assert post_json(url, event_callback(ev)).status_code == 200
    assert fake.wait_for(answered("D7", ev["ts"]))
    [reply] = fake.thread("D7", ev["ts"])
    assert "Guatemala" in reply["text"] and "Mexico and the U. S. continue migration talks" in all_text(reply)


def test_bad_signature_and_stale_timestamp_are_refused(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(engine)
    assert post_json(url, event_callback(mention(HAITI)), secret="not-the-secret").status_code == 401
    stale = int(time.time()) - 6 * 60
    assert post_json(url, event_callback(mention(HAITI)), timestamp=stale).status_code == 401
    unsigned = httpx.post(url, json=event_callback(mention(HAITI)), timeout=10)
    assert unsigned.status_code == 401
    time.sleep(0.5)
    assert [c.method for c in fake.calls] == ["auth.test"]  # nothing was answered


def test_url_verification_challenge(engine: Engine, serve: Any) -> None:
    resp = post_json(serve(engine), {"token": "t", "challenge": "c-123", "type": "url_verification"})
    assert resp.status_code == 200 and "c-123" in resp.text


def test_retry_and_the_mention_pair_give_exactly_one_answer(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(engine)
    ev = mention(HAITI, channel="C3")
    first = event_callback(ev)
    pair = event_callback(message(f"<@UBOT> {HAITI}", channel="C3", channel_type="channel", ts=ev["ts"]))
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert post_json(url, first).status_code == 200
    assert post_json(url, first, **retry).status_code == 200
    assert post_json(url, pair).status_code == 200
    assert post_json(url, first, **{**retry, "X-Slack-Retry-Num": "2"}).status_code == 200

    assert fake.wait_for(answered("C3", ev["ts"]))
    time.sleep(1.5)  # any duplicate would have posted its progress note by now
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert len(fake.calls_to("chat.update")) == 1


def test_ack_comes_back_fast_while_the_answer_takes_5_seconds(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(SlowEngine(engine, 5.0))
    ev = mention(HAITI, channel="C4")
    t0 = time.monotonic()
    resp = post_json(url, event_callback(ev))
    ack_s = time.monotonic() - t0
    assert resp.status_code == 200
    assert ack_s < 1.5, f"ack took {ack_s:.2f}s; Slack wants it within 3s"

    # progress shows at once, the answer replaces it after the 5 s
    assert fake.wait_for(lambda f: len(f.calls_to("chat.postMessage")) == 1, timeout=2)
    assert fake.thread("C4", ev["ts"])[0]["text"] == PROGRESS_TEXT
    assert fake.wait_for(answered("C4", ev["ts"]), timeout=15)
    assert time.monotonic() - t0 >= 5.0


def test_slash_command_acks_at_once_then_answers_via_response_url(
    engine: Engine, fake: FakeSlack, serve: Any
) -> None:
    url = serve(SlowEngine(engine, 2.0))
    form = {"command": "/ask", "text": HAITI, "user_id": "U5", "channel_id": "C5", "team_id": "T0TEAM",
            "response_url": fake.response_url("cmd"), "trigger_id": "t1", "token": "legacy"}
    t0 = time.monotonic()
    resp = post_form(url, form)
    assert resp.status_code == 200 and time.monotonic() - t0 < 1.5
    assert resp.json()["text"] == PROGRESS_TEXT

    assert fake.wait_for(lambda f: f.calls_to("respond:cmd"), timeout=15)
    [call] = fake.calls_to("respond:cmd")
    assert call.ok and call.params["response_type"] == "in_channel"
    shown = all_text(call.params)
    assert "<@U5> asked:" in shown and "<https://example.org/wh-haiti|Statement on Haiti>" in shown

    empty = post_form(url, {**form, "text": "  "})
    assert empty.status_code == 200 and "/ask" not in empty.json()["text"] and "e.g." in empty.json()["text"]


def test_feedback_click_is_acked_and_stored(engine: Engine, fake: FakeSlack, serve: Any, tmp_path: Path) -> None:
    url = serve(engine)
    ev = mention(HAITI, channel="C6")
    post_json(url, event_callback(ev))
    assert fake.wait_for(answered("C6", ev["ts"]))
    [reply] = fake.thread("C6", ev["ts"])
    [buttons] = [b for b in reply["blocks"] if b["type"] == "actions"]
    action = next(e for e in buttons["elements"] if e["action_id"] == "feedback_not_helpful")
    payload = {
        "type": "block_actions", "user": {"id": "U9", "username": "ana"}, "api_app_id": "A0APP", "token": "legacy",
        "team": {"id": "T0TEAM"}, "trigger_id": "t2", "channel": {"id": "C6"},
        "container": {"type": "message", "message_ts": reply["ts"], "channel_id": "C6"},
        "message": {"ts": reply["ts"], "text": reply["text"], "blocks": reply["blocks"]},
        "response_url": fake.response_url("fb"),
        "actions": [{**action, "block_id": "feedback", "action_ts": "1718000000.1"}],
    }
    t0 = time.monotonic()
    resp = post_form(url, {"payload": json.dumps(payload)})
    assert resp.status_code == 200 and time.monotonic() - t0 < 1.5

    assert fake.wait_for(lambda f: f.calls_to("respond:fb"))
    assert fake.calls_to("respond:fb")[0].params["response_type"] == "ephemeral"
    [row] = FeedbackStore(tmp_path / "feedback.sqlite3").feedback()
    assert row["question"] == HAITI and row["user"] == "U9" and row["verdict"] == "not_helpful"
    assert "[1]" in row["answer"] and row["citations"][0]["url"] == "https://example.org/wh-haiti"


def test_slack_api_errors_are_logged_and_the_app_keeps_answering(
    engine: Engine, fake: FakeSlack, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = serve(engine)
    caplog.set_level(logging.ERROR, logger="bot.slack_app")

    fake.fail_next("chat.postMessage", "not_in_channel")
    lost = mention(HAITI, channel="C7")
    post_json(url, event_callback(lost))
    assert fake.wait_for(lambda f: f.calls_to("chat.postMessage"))

    fake.fail_next("chat.update", "invalid_auth")  # the answer cannot replace the note: posted anew
    ev = mention(HAITI, channel="C8")
    post_json(url, event_callback(ev))
    assert fake.wait_for(lambda f: f.calls_to("chat.delete"))  # ... and the stale note deleted
    [reply] = fake.thread("C8", ev["ts"])
    assert "Statement on Haiti" in reply["text"]

    fake.fail_next("chat.postMessage", "channel_not_found")
    gone = mention(HAITI, channel="C9")
    post_json(url, event_callback(gone))
    assert fake.wait_for(lambda f: len(f.calls_to("chat.postMessage")) == 4)

    last = mention(HAITI, channel="C10")  # still alive and answering
    post_json(url, event_callback(last))
    assert fake.wait_for(answered("C10", last["ts"]))
    logged = caplog.text
    assert "chat.postMessage failed: not_in_channel" in logged and "channel=C7" in logged and "/invite" in logged
    assert "chat.update failed: invalid_auth" in logged and "channel=C8" in logged
    assert "chat.postMessage failed: channel_not_found" in logged and "channel=C9" in logged
    assert fake.thread("C7", lost["ts"]) == [] and fake.thread("C9", gone["ts"]) == []


def test_rate_limited_call_is_retried_after_retry_after(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(engine)
    fake.rate_limit_next("chat.update", retry_after=1)
    ev = mention(HAITI, channel="C10")
    post_json(url, event_callback(ev))
    assert fake.wait_for(answered("C10", ev["ts"]), timeout=15)
    limited, retried = fake.calls_to("chat.update")
    assert limited.status == 429 and retried.ok
    assert retried.at - limited.at >= 1.0


def test_an_exception_while_answering_posts_an_apology(
    fake: FakeSlack, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = serve(BrokenEngine())
    ev = mention(HAITI, channel="C11")
    post_json(url, event_callback(ev))
    assert fake.wait_for(answered("C11", ev["ts"]))
    [reply] = fake.thread("C11", ev["ts"])
    assert reply["text"] == APOLOGY_TEXT and "Traceback" not in all_text(reply)
    assert "answering failed" in caplog.text and "chroma went away" in caplog.text


def test_long_answer_and_many_sources_fit_slack_limits(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(HugeEngine(engine))
    ev = mention(HAITI, channel="C12")
    post_json(url, event_callback(ev))
    assert fake.wait_for(answered("C12", ev["ts"]))
    [update] = fake.calls_to("chat.update")
    assert update.ok, update.response  # the fake validates blocks like Slack does
    blocks = update.params["blocks"]
    assert len(blocks) <= 50 and block_text_length(blocks) <= 12_000
    shown = all_text(update.params)
    assert "https://example.org/a%7Cb%3Ec%29d?i=1&amp;x=1|Release &lt;1&gt; &amp; co" in shown
    assert "more" in shown  # sources that did not fit are counted, not silently dropped


def test_posts_are_paced_to_about_one_per_second_per_channel(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(engine)
    events = [mention(HAITI, channel="C13") for _ in range(3)]
    for ev in events:
        post_json(url, event_callback(ev))
    assert fake.wait_for(lambda f: all(answered("C13", ev["ts"])(f) for ev in events), timeout=20)
    posts = sorted(c.at for c in fake.calls_to("chat.postMessage"))
    assert len(posts) == 3
    assert all(b - a >= 0.9 for a, b in zip(posts, posts[1:], strict=False)), posts


def test_other_bots_and_the_bot_itself_are_ignored(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    url = serve(engine)
    ignored = [
        mention(HAITI, channel="C14", bot_id="BOTHER"),
        message(f"<@UBOT> {HAITI}", channel="C14", channel_type="channel", subtype="bot_message", bot_id="BOTHER"),
        message(HAITI, channel="D14", bot_id="BOTHER"),
        message(HAITI, channel="D14", user="UBOT"),
        message(HAITI, channel="D14", subtype="message_changed"),
        message(f"no mention here: {HAITI}", channel="C14", channel_type="channel"),
    ]
    for ev in ignored:
        assert post_json(url, event_callback(ev)).status_code == 200
    real = message(HAITI, channel="D15")
    post_json(url, event_callback(real))
    assert fake.wait_for(answered("D15", real["ts"]))
    time.sleep(0.5)
    assert [c.params["channel"] for c in fake.calls_to("chat.postMessage")] == ["D15"]


def test_router_needs_the_signing_secret_and_a_valid_bot_token(
    engine: Engine, fake: FakeSlack, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        slack_router(slack_settings(tmp_path, fake, slack_signing_secret=None), engine)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN .* placeholder"):
        slack_router(slack_settings(tmp_path, fake, slack_bot_token="xoxb-..."), engine)
    # a token Slack rejects turns Slack off (logged), it does not stop the server: /slack/events says why
    app = FastAPI()
    app.include_router(slack_router(slack_settings(tmp_path, fake, slack_bot_token="xoxb-revoked"), engine))
    with Served(app) as served:
        off = post_json(served.url, event_callback(mention(HAITI)))
    assert off.status_code == 503 and "Slack rejected SLACK_BOT_TOKEN" in off.text


def test_clicks_and_commands_are_acked_at_once_while_answers_are_busy(
    engine: Engine, fake: FakeSlack, serve: Any
) -> None:
    url = serve(SlowEngine(engine, 3.0))
    busy = [mention(HAITI, channel=f"C2{i}") for i in range(6)]  # more than the answer and listener threads
    for ev in busy:
        post_json(url, event_callback(ev))
    payload = {"type": "block_actions", "user": {"id": "U9"}, "api_app_id": "A0APP", "token": "legacy",
               "team": {"id": "T0TEAM"}, "trigger_id": "t3", "channel": {"id": "C20"},
               "response_url": fake.response_url("busy"),
               "actions": [{"action_id": "feedback_helpful", "block_id": "feedback", "type": "button",
                            "value": "unknown-answer", "action_ts": "1718000000.2"}]}
    command = {"command": "/ask", "text": HAITI, "user_id": "U5", "channel_id": "C5", "team_id": "T0TEAM",
               "response_url": fake.response_url("cmd"), "trigger_id": "t1", "token": "legacy"}
    for form in ({"payload": json.dumps(payload)}, command):
        t0 = time.monotonic()
        assert post_form(url, form).status_code == 200
        assert time.monotonic() - t0 < 1.5
    assert fake.wait_for(lambda f: all(answered(ev["channel"], ev["ts"])(f) for ev in busy), timeout=30)
    assert fake.wait_for(lambda f: f.calls_to("respond:cmd"), timeout=15)


def test_the_filters_run_before_the_dedupe_so_ignored_events_use_none_of_its_memory(
    engine: Engine, fake: FakeSlack, tmp_path: Path
) -> None:
    """The filters are Bolt global middleware: an event they drop is acked (200) and reaches no
    listener and no dedupe key; a question passes them all, once."""
    from slack_bolt.request import BoltRequest

    from bot.slack_app import create_slack_app
    from bot.slack_dedupe import Deduper

    deduper = Deduper()
    app = create_slack_app(slack_settings(tmp_path, fake), engine, deduper=deduper)
    try:
        def deliver(event: dict[str, Any], event_id: str | None = None) -> int:
            body = json.dumps(event_callback(event, event_id))
            return app.dispatch(BoltRequest(body=body, mode="socket_mode")).status

        ignored = [
            mention(HAITI, channel="C30", bot_id="BOTHER"),
            message(HAITI, channel="D30", subtype="message_changed"),
            message(HAITI, channel="D30", user="UBOT"),
            message(f"no mention here: {HAITI}", channel="C30", channel_type="channel"),
        ]
        assert [deliver(ev) for ev in ignored] == [200] * len(ignored)
        assert len(deduper) == 0
        question = message(HAITI, channel="D31")
        assert deliver(question, "EvQ1") == 200 and deliver(question, "EvQ1") == 200  # a redelivery
        assert len(deduper) == 2  # its event id and its channel + ts
        assert fake.wait_for(answered("D31", question["ts"]))
        time.sleep(0.5)
        assert [c.params["channel"] for c in fake.calls_to("chat.postMessage")] == ["D31"]
    finally:
        app.close()

"""Slack faults, each ending in one answer or one apology: Slack refusing the progress note (a
500, a 429 after the retries), a failed chat.update, a failed chat.delete, a refused answer;
pacing that never makes a DM wait behind another channel; /slack/events while the engine
loads; a rejected or unreachable bot token with the HTTP API still serving; a bot token without
its signing secret. All against the fake Slack Web API on 127.0.0.1 and the real engine."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.api import create_app
from bot.slack_format import APOLOGY_TEXT, POINTER_TEXT
from bot.slack_http import OFF_TEXT, STARTING_TEXT, SlackEvents, slack_mounts
from pressbot.config import Settings
from pressbot.engine import Engine
from tests.integration.fake_slack import FakeSlack
from tests.integration.test_slack_http import (
    HAITI,
    SECRET,
    Served,
    SlowEngine,
    answered,
    event_callback,
    mention,
    message,
    post_form,
    post_json,
    slack_settings,
)
from tests.support import build_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return build_engine(tmp_path_factory.mktemp("slack-faults"), abstain_threshold=0.0)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def serve(tmp_path: Path, fake: FakeSlack) -> Iterator[Any]:
    """serve(engine_or_loader, settings=None) -> the base URL of the full API app (lifespan on)
    with Slack mounted the way `pressbot serve` mounts it."""
    stack: list[Served] = []

    def start(loader: Any, settings: Settings | None = None, mounts: list[Any] | None = None) -> str:
        settings = settings or slack_settings(tmp_path, fake)
        app = create_app(settings, extra_routers=slack_mounts(settings) if mounts is None else mounts,
                         loader=loader if callable(loader) and not isinstance(loader, Engine) else (lambda s: loader))
        served = Served(app)
        served.server.config.lifespan = "on"
        served.__enter__()
        stack.append(served)
        return served.url.removesuffix("/slack/events")

    yield start
    for served in stack:
        served.__exit__()


def reply_texts(fake: FakeSlack, channel: str, ts: str) -> list[str]:
    return [m["text"] for m in fake.thread(channel, ts)]


def chat_calls(fake: FakeSlack) -> list[tuple[str, int, bool]]:
    return [(c.method, c.status, c.ok) for c in fake.calls if c.method.startswith("chat.")]


def wait_ready(base: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(f"{base}/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the engine did not load"
        time.sleep(0.05)


# --- the reply: one answer or one apology -------------------------------------------------


def test_progress_note_refused_with_500_still_gets_the_answer(
    engine: Engine, fake: FakeSlack, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    base = serve(engine)
    wait_ready(base)
    fake.server_error_next("chat.postMessage", 500)
    ev = mention(HAITI, channel="C1")
    assert post_json(f"{base}/slack/events", event_callback(ev)).status_code == 200
    assert fake.wait_for(lambda f: f.thread("C1", ev["ts"]))
    time.sleep(0.5)
    [answer] = reply_texts(fake, "C1", ev["ts"])
    assert "Statement on Haiti" in answer and "[1]" in answer
    assert chat_calls(fake) == [("chat.postMessage", 500, False), ("chat.postMessage", 200, True)]
    assert "chat.postMessage failed: internal_error (HTTP 500)" in caplog.text and "answering anyway" in caplog.text


def test_progress_note_refused_with_429_after_the_retries_still_gets_the_answer(
    engine: Engine, fake: FakeSlack, serve: Any
) -> None:
    base = serve(engine)
    wait_ready(base)
    fake.rate_limit_next("chat.postMessage", retry_after=0, times=4)  # the first try and its 3 retries
    ev = mention(HAITI, channel="C2")
    post_json(f"{base}/slack/events", event_callback(ev))
    assert fake.wait_for(lambda f: f.thread("C2", ev["ts"]), timeout=20)
    time.sleep(0.5)
    [answer] = reply_texts(fake, "C2", ev["ts"])
    assert "Statement on Haiti" in answer
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 429, 429, 429, 200]


def test_failed_update_posts_the_answer_and_deletes_the_note(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    base = serve(SlowEngine(engine, 0.5))
    wait_ready(base)
    fake.server_error_next("chat.update", 500)
    ev = mention(HAITI, channel="C3")
    post_json(f"{base}/slack/events", event_callback(ev))
    assert fake.wait_for(lambda f: f.calls_to("chat.delete"), timeout=10)
    time.sleep(0.3)
    [answer] = reply_texts(fake, "C3", ev["ts"])  # no stale "Searching the archive…"
    assert "Statement on Haiti" in answer
    assert chat_calls(fake) == [("chat.postMessage", 200, True), ("chat.update", 500, False),
                                ("chat.postMessage", 200, True), ("chat.delete", 200, True)]


def test_a_note_that_cannot_be_deleted_is_edited_to_point_at_the_answer(
    engine: Engine, fake: FakeSlack, serve: Any
) -> None:
    base = serve(SlowEngine(engine, 0.5))
    wait_ready(base)
    fake.fail_next("chat.update", "cant_update_message")
    fake.fail_next("chat.delete", "cant_delete_message")
    ev = mention(HAITI, channel="C4")
    post_json(f"{base}/slack/events", event_callback(ev))
    assert fake.wait_for(lambda f: len(f.calls_to("chat.update")) == 2, timeout=10)
    time.sleep(0.3)
    note, answer = reply_texts(fake, "C4", ev["ts"])
    assert note == POINTER_TEXT and "Statement on Haiti" in answer


def test_an_answer_slack_refuses_becomes_an_apology(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    base = serve(SlowEngine(engine, 1.0))
    wait_ready(base)
    fake.fail_next("chat.update", "msg_too_long")
    ev = mention(HAITI, channel="C5")
    post_json(f"{base}/slack/events", event_callback(ev))
    assert fake.wait_for(lambda f: f.calls_to("chat.postMessage", ok=True))  # the note is up
    fake.fail_next("chat.postMessage", "msg_too_long")  # ... and the answer posted anew is refused too
    assert fake.wait_for(lambda f: f.calls_to("chat.delete"), timeout=10)
    time.sleep(0.3)
    assert reply_texts(fake, "C5", ev["ts"]) == [APOLOGY_TEXT]


class MalformedEngine:
    """Returns something that is not an Answer: formatting it fails after the engine succeeded (a bug)."""

    def answer(self, question: str, **kw: Any) -> Any:
        return {"answer": "not an Answer object"}


def test_a_bug_after_answering_still_ends_in_an_apology(
    fake: FakeSlack, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    base = serve(MalformedEngine())
    wait_ready(base)
    ev = mention(HAITI, channel="C12")
    post_json(f"{base}/slack/events", event_callback(ev))
    assert fake.wait_for(answered("C12", ev["ts"]))
    assert reply_texts(fake, "C12", ev["ts"]) == [APOLOGY_TEXT]
    assert "Slack answer task answer_in_thread failed" in caplog.text


def test_a_channel_the_bot_cannot_post_to_ends_logged_without_retrying(
    engine: Engine, fake: FakeSlack, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    base = serve(engine)
    wait_ready(base)
    fake.fail_always("chat.postMessage", error="not_in_channel")
    ev = mention(HAITI, channel="C6")
    post_json(f"{base}/slack/events", event_callback(ev))
    assert fake.wait_for(lambda f: f.calls_to("chat.postMessage"))
    time.sleep(1.0)
    assert len(fake.calls_to("chat.postMessage")) == 1  # not_in_channel will not heal by trying again
    assert "not_in_channel" in caplog.text and "/invite" in caplog.text and "no reply in channel=C6" in caplog.text


def test_a_dm_does_not_wait_behind_another_channels_backlog(engine: Engine, fake: FakeSlack, serve: Any) -> None:
    base = serve(engine)
    wait_ready(base)
    url = f"{base}/slack/events"
    busy = [mention(HAITI, channel="C7") for _ in range(8)]
    for ev in busy:
        post_json(url, event_callback(ev))
    dm = message("Which countries receive the $180 million program?", channel="D7")
    t0 = time.monotonic()
    post_json(url, event_callback(dm))
    assert fake.wait_for(answered("D7", dm["ts"]), timeout=10)
    dm_s = time.monotonic() - t0
    assert dm_s < 1.0, f"the DM waited {dm_s:.2f} s behind channel C7"  # was 3.9 s
    assert fake.wait_for(lambda f: all(answered("C7", ev["ts"])(f) for ev in busy), timeout=20)
    posts = sorted(c.at for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "C7")
    assert all(b - a >= 0.9 for a, b in zip(posts, posts[1:], strict=False)), posts  # C7 still paced
    for ev in busy:  # one reply each: the answer (posted alone when it was ready before its turn)
        [text] = reply_texts(fake, "C7", ev["ts"])
        assert "Statement on Haiti" in text


# --- HTTP mode: start-up, tokens ---------------------------------------------------------------


def test_slack_events_during_start_up_challenge_answered_events_503_then_answered(
    engine: Engine, fake: FakeSlack, serve: Any
) -> None:
    loaded = threading.Event()

    def slow_loader(settings: Settings) -> Engine:
        assert loaded.wait(30)
        return engine

    base = serve(slow_loader)
    url = f"{base}/slack/events"
    assert httpx.get(f"{base}/readyz", timeout=5).status_code == 503
    challenge = post_json(url, {"token": "t", "challenge": "c-early", "type": "url_verification"})
    assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-early"}
    assert post_json(url, {"type": "url_verification", "challenge": "x"}, secret="wrong").status_code == 401
    ev = event_callback(mention(HAITI, channel="C8"))
    early = post_json(url, ev)
    assert early.status_code == 503 and early.headers["Retry-After"] == "5"  # Slack delivers it again
    command = post_form(url, {"command": "/ask", "text": HAITI, "user_id": "U5", "channel_id": "C5",
                              "response_url": fake.response_url("cmd"), "trigger_id": "t", "token": "legacy"})
    assert command.status_code == 200 and command.json()["text"] == STARTING_TEXT

    loaded.set()
    wait_ready(base)
    retry = post_json(url, ev, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    assert retry.status_code == 200
    assert fake.wait_for(answered("C8", ev["event"]["ts"]))
    assert len(fake.thread("C8", ev["event"]["ts"])) == 1


def test_rejected_bot_token_turns_slack_off_and_the_api_keeps_serving(
    engine: Engine, fake: FakeSlack, serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = slack_settings(tmp_path, fake, slack_bot_token="xoxb-revoked-token")
    base = serve(engine, settings)
    wait_ready(base)
    assert httpx.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"
    stats = httpx.get(f"{base}/v1/stats", timeout=5)
    assert stats.status_code == 200, stats.text
    url = f"{base}/slack/events"
    refused = post_json(url, event_callback(mention(HAITI, channel="C9")))
    assert refused.status_code == 503 and "Slack is off" in refused.text and "SLACK_BOT_TOKEN" in refused.text
    assert post_json(url, {"type": "url_verification", "challenge": "c-off"}).json() == {"challenge": "c-off"}
    command = post_form(url, {"command": "/ask", "text": HAITI, "user_id": "U5", "channel_id": "C5",
                              "response_url": fake.response_url("cmd"), "trigger_id": "t", "token": "legacy"})
    assert command.json()["text"] == OFF_TEXT
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Slack is off: Slack rejected SLACK_BOT_TOKEN" in m and "invalid_auth" in m for m in logged), logged
    assert fake.calls_to("chat.postMessage") == []


def test_slack_unreachable_or_unwell_at_start_is_tried_again(
    engine: Engine, fake: FakeSlack, serve: Any, tmp_path: Path
) -> None:
    fake.fail_always("auth.test", status=500)  # Slack unwell: not a rejected token
    settings = slack_settings(tmp_path, fake)
    events = SlackEvents(settings, retry_delays_s=(0.2, 0.5))
    base = serve(engine, settings, mounts=[events.router, events.start])
    try:
        wait_ready(base)
        url = f"{base}/slack/events"
        ev = event_callback(mention(HAITI, channel="C10"))
        assert post_json(url, ev).status_code == 503
        assert events.state == "starting" and "auth.test" in (events.waiting or "")
        fake.heal("auth.test")
        deadline = time.monotonic() + 10
        while events.state != "on":
            assert time.monotonic() < deadline, events.waiting
            time.sleep(0.05)
        assert post_json(url, ev).status_code == 200
        assert fake.wait_for(answered("C10", ev["event"]["ts"]))
    finally:
        events.close()


def test_bot_token_without_signing_secret_is_warned_about_at_start(
    engine: Engine, fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = slack_settings(tmp_path, fake, slack_signing_secret=None)
    app = create_app(settings, engine, extra_routers=slack_mounts(settings))
    with caplog.at_level(logging.WARNING, logger="bot.api"), TestClient(app) as client:
        assert client.post("/slack/events", content=json.dumps({"type": "url_verification"})).status_code == 404
    [warning] = [r.getMessage() for r in caplog.records if "SLACK_SIGNING_SECRET" in r.getMessage()]
    assert "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET" in warning and "/slack/events" in warning

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.api"), TestClient(create_app(slack_settings(tmp_path, fake),
                                                                                    engine)):
        pass
    assert "SLACK_SIGNING_SECRET" not in caplog.text  # both set: nothing to warn about


def test_pressbot_serve_with_a_rejected_bot_token_serves_the_api_with_slack_off(
    engine: Engine, fake: FakeSlack, tmp_path: Path
) -> None:
    """The real `pressbot serve` process (its own mounting of Slack), Slack refusing its token."""
    import os
    import subprocess
    import sys

    from tests.integration.test_slack_emulator import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESSBOT_", "SLACK_"))}
    env.update({"SLACK_BOT_TOKEN": "xoxb-revoked-token", "SLACK_SIGNING_SECRET": SECRET,
                "PRESSBOT_SLACK_API_URL": fake.url, "PRESSBOT_EMBEDDING_MODEL": "hash-64",
                "PRESSBOT_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3")})
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("pressbot")), "--data-dir",
                                 str(engine.settings.data_dir), "serve", "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert httpx.get(f"{base}/v1/stats", timeout=5).status_code == 200
        off = post_json(f"{base}/slack/events", event_callback(mention(HAITI, channel="C11")))
        assert off.status_code == 503 and "Slack rejected SLACK_BOT_TOKEN" in off.text
        assert "Slack is off: Slack rejected SLACK_BOT_TOKEN" in log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(30)


# --- /readyz reports Slack's state; the Slack threads stop with the server ----------------------


def readiness(base: str) -> tuple[int, dict[str, Any]]:
    resp = httpx.get(f"{base}/readyz", timeout=5)
    return resp.status_code, resp.json()


def test_readyz_reports_slacks_state_and_a_broken_slack_never_makes_it_503(
    engine: Engine, fake: FakeSlack, serve: Any, tmp_path: Path
) -> None:
    loaded = threading.Event()

    def slow_loader(settings: Settings) -> Engine:
        assert loaded.wait(30)
        return engine

    base = serve(slow_loader)
    assert readiness(base) == (503, {"status": "loading", "detail": None, "slack": "starting"})
    loaded.set()
    wait_ready(base)
    assert readiness(base) == (200, {"status": "ready", "detail": None, "slack": "ready"})

    rejected = serve(engine, slack_settings(tmp_path, fake, slack_bot_token="xoxb-revoked-token"))
    wait_ready(rejected)
    status, body = readiness(rejected)
    assert status == 200 and body["status"] == "ready"  # the HTTP API serves: only Slack is off
    assert body["slack"].startswith("rejected: Slack rejected SLACK_BOT_TOKEN") and "invalid_auth" in body["slack"]
    assert "\n" not in body["slack"]

    no_slack = serve(engine, slack_settings(tmp_path, fake, slack_signing_secret=None))
    wait_ready(no_slack)
    assert readiness(no_slack) == (200, {"status": "ready", "detail": None, "slack": "off"})

    fake.fail_always("auth.test", status=500)  # Slack unwell: tried again in the background
    settings = slack_settings(tmp_path, fake)
    events = SlackEvents(settings, retry_delays_s=(0.2, 0.5))
    unwell = serve(engine, settings, mounts=[events.router, events.start])
    wait_ready(unwell)
    status, body = readiness(unwell)
    assert status == 200 and body["slack"].startswith("starting: Slack's auth.test")
    assert "internal_error" in body["slack"]
    fake.heal("auth.test")
    deadline = time.monotonic() + 10
    while readiness(unwell)[1]["slack"] != "ready":
        assert time.monotonic() < deadline, readiness(unwell)
        time.sleep(0.05)


def test_the_slack_threads_stop_when_the_server_shuts_down_after_answering_what_is_under_way(
    engine: Engine, fake: FakeSlack, tmp_path: Path
) -> None:
    settings = slack_settings(tmp_path, fake)
    events = SlackEvents(settings)
    app = create_app(settings, SlowEngine(engine, 1.0), extra_routers=[events.router, events.start])  # type: ignore[arg-type]
    before = set(threading.enumerate())
    served = Served(app)
    served.server.config.lifespan = "on"
    with served:
        ev = mention(HAITI, channel="C13")
        assert post_json(served.url, event_callback(ev)).status_code == 200
        assert fake.wait_for(lambda f: f.calls_to("chat.postMessage", ok=True))  # the note is up, the answer not yet
        # the note can be out before the listener hands the question to the answer pool: wait for both
        deadline = time.monotonic() + 5
        while True:
            started = [t for t in threading.enumerate() if t not in before and t.name.startswith("pressbot-")]
            if {t.name.rsplit("_", 1)[0] for t in started} >= {"pressbot-answer", "pressbot-slack-send"}:
                break
            assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
            time.sleep(0.01)
    # uvicorn has run the lifespan's shutdown: the question under way was still answered ...
    [reply] = fake.thread("C13", ev["ts"])
    assert "Statement on Haiti" in reply["text"]
    # ... and then the pools stopped: they refuse work, and their threads end
    assert events.app is not None
    with pytest.raises(RuntimeError, match="after shutdown"):
        events.app.answers.submit(print)
    deadline = time.monotonic() + 5
    while alive := [t.name for t in started if t.is_alive()]:
        assert time.monotonic() < deadline, f"still running after shut-down: {alive}"
        time.sleep(0.05)

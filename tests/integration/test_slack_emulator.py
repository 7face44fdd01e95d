"""End-to-end smoke test against local-slack, a Slack emulator from npm (Web API + Socket Mode +
a control API), run offline on 127.0.0.1: the real `pressbot slack` process connects to it,
a user mentions the bot in a channel, the bot answers in the thread with citations; a DM is
answered too, and a "not helpful" click lands in the feedback database. The emulator killed
-9 and restarted: the bot reconnects within 10 s. In HTTP mode (the emulator posting events to
`pressbot serve`'s /slack/events): a mention is answered; a bot token without the signing
secret is warned about at start. (The emulator accepts any token and injects no faults: those
are tested against tests/integration/fake_slack.py.)

The emulator (`local-slack-linux-x64@0.1.8`, a single binary) is installed with npm into
pytest's cache directory (.pytest_cache/d/local-slack) once; PRESSBOT_LOCAL_SLACK may name an
installed binary instead. The test is skipped only when npm is missing or cannot install it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from filelock import FileLock

from bot.slack_feedback import FeedbackStore
from bot.slack_format import PROGRESS_TEXT
from tests.support import build_engine

PACKAGE = "local-slack-linux-x64@0.1.8"
BOT_USER = "U0BOT"
CONFIG = """\
workspace: {name: Press Office, domain: press-office, teamId: T01TEST}
apps:
  - appId: A01APP
    botUserId: U0BOT
    botName: pressbot
    botToken: xoxb-test-token
    appToken: xapp-test-token
    signingSecret: test-signing-secret
    mode: socket
users:
  - {id: U01ALICE, name: alice, real_name: Alice Anderson}
channels:
  - {id: C01GEN, name: general, members: [U01ALICE, U0BOT]}
"""


@pytest.fixture(scope="session")
def local_slack(request: pytest.FixtureRequest) -> Path:
    """The emulator binary: PRESSBOT_LOCAL_SLACK, else installed with npm into pytest's cache."""
    if os.environ.get("PRESSBOT_LOCAL_SLACK"):
        return Path(os.environ["PRESSBOT_LOCAL_SLACK"])
    prefix = Path(request.config.cache.mkdir("local-slack"))
    with FileLock(prefix / "install.lock"):  # pytest-xdist workers: one installs, the others wait
        return _installed_local_slack(prefix)


def _installed_local_slack(prefix: Path) -> Path:
    binary = prefix / "node_modules" / "local-slack-linux-x64" / "bin" / "local-slack"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not installed, so the Slack emulator {PACKAGE} cannot be installed")
    try:
        proc = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-save", "--no-audit", "--no-fund", PACKAGE],
            capture_output=True, text=True, timeout=300,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm could not install {PACKAGE} within 5 minutes")
    if proc.returncode != 0 or not binary.exists():
        pytest.skip(f"npm could not install {PACKAGE}: {(proc.stderr or proc.stdout).strip()[-500:]}")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, what: str, logs: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{logs()}")


class Process:
    def __init__(self, args: list[str], log: Path, **kw: Any) -> None:
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT, **kw)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._fh.close()


@pytest.fixture
def workspace(local_slack: Path, tmp_path: Path) -> Iterator[Any]:
    """The emulator and `pressbot slack` connected to it; yields a small driver."""
    engine = build_engine(tmp_path, abstain_threshold=0.0)  # the index the bot process opens
    (tmp_path / "config.yaml").write_text(CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs: dict[str, Process] = {}

    def logs() -> str:
        tail = procs["bot"].text()[-5000:] if "bot" in procs else ""
        return f"--- local-slack ---\n{procs['emulator'].text()[-3000:]}\n--- pressbot slack ---\n{tail}"

    def start_emulator() -> None:
        procs["emulator"] = Process([str(local_slack), "--config", str(tmp_path / "config.yaml"), "--port", str(port),
                                     "--base-host", "127.0.0.1"], tmp_path / "local-slack.log", cwd=tmp_path)
        wait_until(lambda: httpx.get(f"{base}/_control/state", timeout=2).status_code == 200, 20, "local-slack", logs)

    def kill_emulator() -> None:
        procs["emulator"].proc.kill()  # -9: no close frame, as when Slack's edge or the network goes away
        procs["emulator"].stop()

    try:
        start_emulator()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESSBOT_", "SLACK_"))}
        env.update({
            "SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_APP_TOKEN": "xapp-test-token",
            "PRESSBOT_SLACK_API_URL": f"{base}/api/", "PRESSBOT_EMBEDDING_MODEL": "hash-64",
            "PRESSBOT_ABSTAIN_THRESHOLD": "0.0", "PRESSBOT_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
        })
        pressbot = Path(sys.executable).with_name("pressbot")
        procs["bot"] = bot = Process([str(pressbot), "--data-dir", str(engine.settings.data_dir), "-v", "slack"],
                                     tmp_path / "pressbot-slack.log", cwd=tmp_path, env=env)
        wait_until(lambda: "connected to Slack in Socket Mode" in bot.text() or bot.proc.poll() is not None,
                   90, "pressbot slack to connect", logs)
        assert bot.proc.poll() is None, logs()
        yield Driver(base, tmp_path, logs, bot, start_emulator, kill_emulator)
    finally:
        if "bot" in procs:
            procs["bot"].stop()
        if "emulator" in procs:
            procs["emulator"].stop()


class Driver:
    def __init__(self, base: str, tmp_path: Path, logs: Callable[[], str], bot: Process | None = None,
                 start_emulator: Callable[[], None] | None = None,
                 kill_emulator: Callable[[], None] | None = None) -> None:
        self.base, self.tmp_path, self.logs, self.bot = base, tmp_path, logs, bot
        self.start_emulator, self.kill_emulator = start_emulator, kill_emulator

    def say(self, channel: str, text: str) -> dict[str, Any]:
        resp = httpx.post(f"{self.base}/_control/message", json={"channel": channel, "user": "U01ALICE", "text": text})
        resp.raise_for_status()
        return resp.json()["message"]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        return httpx.get(f"{self.base}/_control/messages/{channel}", timeout=5).json()["messages"]

    def replies(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies in the message's thread, once none is the progress note any more."""
        def done() -> list[dict[str, Any]] | None:
            got = [m for m in self.messages(msg["channel"])
                   if m.get("thread_ts") == msg["ts"] and m.get("user") == BOT_USER]
            return got if got and all(m["text"] != PROGRESS_TEXT for m in got) else None

        return wait_until(done, 30, f"the answer to {msg['text']!r}", self.logs)


def test_a_mention_gets_one_threaded_answer_with_citations(workspace: Driver) -> None:
    asked = workspace.say("C01GEN", f"<@{BOT_USER}> What humanitarian assistance goes to Haiti?")
    [reply] = workspace.replies(asked)
    time.sleep(1.0)  # the emulator also delivered a `message` event for the mention: no second answer
    assert len(workspace.replies(asked)) == 1, workspace.logs()

    shown = json.dumps(reply.get("blocks"), ensure_ascii=False)
    assert "$15 million" in reply["text"] and "[1]" in reply["text"]
    assert "<https://example.org/wh-haiti|Statement on Haiti> · 2021-08-20" in shown
    top_level = [m for m in workspace.messages("C01GEN") if m.get("user") == BOT_USER and not m.get("thread_ts")]
    assert top_level == []  # nothing posted outside the thread

    # a "not helpful" click is stored
    [buttons] = [b for b in reply["blocks"] if b["type"] == "actions"]
    action = next(e for e in buttons["elements"] if e["action_id"] == "feedback_not_helpful")
    httpx.post(f"{workspace.base}/_control/interact", json={
        "channel": "C01GEN", "messageTs": reply["ts"], "user": "U01ALICE",
        "action": {**action, "block_id": buttons["block_id"]},
    }).raise_for_status()
    store = FeedbackStore(workspace.tmp_path / "feedback.sqlite3")
    [row] = wait_until(store.feedback, 10, "the feedback row", workspace.logs)
    assert row["verdict"] == "not_helpful" and row["user"] == "U01ALICE"
    assert row["question"] == "What humanitarian assistance goes to Haiti?"


def test_a_direct_message_is_answered_in_its_thread(workspace: Driver) -> None:
    asked = workspace.say("U01ALICE", "Which countries receive the $180 million program?")  # opens the DM
    [reply] = workspace.replies(asked)
    assert "Guatemala" in reply["text"]
    assert "Mexico and the U. S. continue migration talks" in json.dumps(reply.get("blocks"))


def test_socket_mode_reconnects_within_10_s_of_the_emulator_coming_back(workspace: Driver) -> None:
    assert workspace.bot is not None and workspace.kill_emulator and workspace.start_emulator
    sessions = workspace.bot.text().count("A new session has been established")
    workspace.kill_emulator()
    time.sleep(3)
    workspace.start_emulator()
    back = time.monotonic()
    wait_until(lambda: workspace.bot.text().count("A new session has been established") > sessions,  # type: ignore[union-attr]
               15, "pressbot slack to reconnect", workspace.logs)
    reconnect_s = time.monotonic() - back
    assert reconnect_s < 10, f"reconnected {reconnect_s:.1f} s after the emulator came back"
    asked = workspace.say("C01GEN", f"<@{BOT_USER}> What humanitarian assistance goes to Haiti?")
    [reply] = workspace.replies(asked)
    assert "$15 million" in reply["text"]


# --- HTTP mode: `pressbot serve` with the emulator posting events to /slack/events -----------


def serve_with_emulator(local_slack: Path, tmp_path: Path, **slack_env: str) -> tuple[Driver, Process, str]:
    """The emulator in events mode and `pressbot serve` on 127.0.0.1; returns (driver, bot, API base)."""
    engine = build_engine(tmp_path, abstain_threshold=0.0)
    port, api_port = free_port(), free_port()
    base, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}"
    config = CONFIG.replace("mode: socket", f"mode: events\n    requestUrl: {api}/slack/events")
    (tmp_path / "config.yaml").write_text(config)
    emulator = Process([str(local_slack), "--config", str(tmp_path / "config.yaml"), "--port", str(port),
                        "--base-host", "127.0.0.1"], tmp_path / "local-slack.log", cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESSBOT_", "SLACK_"))}
    env.update({"PRESSBOT_SLACK_API_URL": f"{base}/api/", "PRESSBOT_EMBEDDING_MODEL": "hash-64",
                "PRESSBOT_ABSTAIN_THRESHOLD": "0.0", "PRESSBOT_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
                **slack_env})
    pressbot = Path(sys.executable).with_name("pressbot")
    bot = Process([str(pressbot), "--data-dir", str(engine.settings.data_dir), "-v", "serve", "--port",
                   str(api_port)], tmp_path / "pressbot-serve.log", cwd=tmp_path, env=env)
    _started.extend([bot, emulator])

    def logs() -> str:
        return f"--- local-slack ---\n{emulator.text()[-3000:]}\n--- pressbot serve ---\n{bot.text()[-5000:]}"

    wait_until(lambda: httpx.get(f"{base}/_control/state", timeout=2).status_code == 200, 20, "local-slack", logs)
    wait_until(lambda: httpx.get(f"{api}/readyz", timeout=2).status_code == 200 or bot.proc.poll() is not None,
               90, "pressbot serve to be ready", logs)
    assert bot.proc.poll() is None, logs()
    return Driver(base, tmp_path, logs, bot), bot, api


_started: list[Process] = []


@pytest.fixture
def stop_started() -> Iterator[None]:
    yield
    while _started:
        _started.pop().stop()


def test_http_mode_via_pressbot_serve_answers_a_mention(local_slack: Path, tmp_path: Path,
                                                        stop_started: None) -> None:
    driver, _, _ = serve_with_emulator(local_slack, tmp_path, SLACK_BOT_TOKEN="xoxb-test-token",
                                       SLACK_SIGNING_SECRET="test-signing-secret")
    asked = driver.say("C01GEN", f"<@{BOT_USER}> What humanitarian assistance goes to Haiti?")
    [reply] = driver.replies(asked)
    assert "$15 million" in reply["text"] and "[1]" in reply["text"]


def test_http_mode_bot_token_without_signing_secret_is_warned_about(
    local_slack: Path, tmp_path: Path, stop_started: None
) -> None:
    _, bot, api = serve_with_emulator(local_slack, tmp_path, SLACK_BOT_TOKEN="xoxb-test-token")
    assert httpx.post(f"{api}/slack/events", json={"type": "url_verification"}, timeout=5).status_code == 404
    assert "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET" in bot.text()

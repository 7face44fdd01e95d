"""Slack in Socket Mode: Bolt's SocketModeHandler connects to a local websocket server that the
fake `apps.connections.open` points to. The server says hello, sends envelopes (an event, a
slash command, a redelivery), collects the client's acks, then asks it to `disconnect`; the
client opens a new connection and carries on. Also: `pressbot slack`'s start-up errors."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from bot.slack_app import create_slack_app
from bot.slack_cli import socket_mode_handler
from bot.slack_format import PROGRESS_TEXT
from pressbot.engine import Engine
from tests.integration.fake_slack import FakeSlack
from tests.integration.test_slack_http import answered, event_callback, mention, message, new_ts
from tests.support import build_engine, settings_for

HAITI = "What humanitarian assistance goes to Haiti?"


class SocketModeServer:
    """Slack's side of Socket Mode: one websocket per connection, scripted by the test."""

    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []
        self.received: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()  # (connection number, message)
        self.acks: dict[str, tuple[int, dict[str, Any]]] = {}  # received, not yet waited for
        self._connected = threading.Condition()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socket-mode", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link/?ticket=t1&app_id=A0APP"

    def __enter__(self) -> SocketModeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _handle(self, ws: ServerConnection) -> None:
        with self._connected:
            self.connections.append(ws)
            number = len(self.connections)
            self._connected.notify_all()
        ws.send(json.dumps({
            "type": "hello", "num_connections": number,
            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0APP"},
        }))
        try:
            for raw in ws:
                self.received.put((number, json.loads(raw)))
        except ConnectionClosed:
            pass

    def wait_connections(self, n: int, timeout: float = 10) -> ServerConnection:
        with self._connected:
            assert self._connected.wait_for(lambda: len(self.connections) >= n, timeout), f"no connection #{n}"
            return self.connections[n - 1]

    def wait_ack(self, envelope_id: str, timeout: float = 5) -> tuple[int, dict[str, Any]]:
        # Bolt acks concurrently: an ack may arrive before the one waited for, and is kept for later
        deadline = time.monotonic() + timeout
        while envelope_id not in self.acks:
            number, msg = self.received.get(timeout=max(0.01, deadline - time.monotonic()))
            self.acks[msg.get("envelope_id", "")] = (number, msg)
        return self.acks.pop(envelope_id)


def envelope(envelope_id: str, kind: str, payload: dict[str, Any], retry_attempt: int = 0) -> str:
    return json.dumps({
        "envelope_id": envelope_id, "type": kind, "payload": payload, "retry_attempt": retry_attempt,
        "retry_reason": "timeout" if retry_attempt else "", "accepts_response_payload": kind != "events_api",
    })


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return build_engine(tmp_path_factory.mktemp("slack-socket"), abstain_threshold=0.0)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def test_events_acks_disconnect_and_reconnect(engine: Engine, fake: FakeSlack, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, slack_bot_token=fake.bot_token, slack_app_token=fake.app_token,
                            slack_api_url=fake.url)
    with SocketModeServer() as slack:
        fake.socket_url = slack.url
        handler = socket_mode_handler(create_slack_app(settings, engine), fake.app_token)
        try:
            handler.connect()
            first = slack.wait_connections(1)

            ev = mention(HAITI, channel="C1")
            t0 = time.monotonic()
            first.send(envelope("env-1", "events_api", event_callback(ev, "Ev1")))
            number, ack = slack.wait_ack("env-1")
            assert number == 1 and ack == {"envelope_id": "env-1"}
            assert time.monotonic() - t0 < 3
            assert fake.wait_for(answered("C1", ev["ts"]))
            assert "<https://example.org/wh-haiti|Statement on Haiti>" in json.dumps(fake.thread("C1", ev["ts"]))

            # Slack rotates the connection: the client asks for a new URL and reconnects
            first.send(json.dumps({"type": "disconnect", "reason": "refresh_requested",
                                   "debug_info": {"host": "fake-socket-mode"}}))
            second = slack.wait_connections(2)
            assert len(fake.calls_to("apps.connections.open", ok=True)) == 2

            # on the new connection: the same event redelivered (acked, not answered twice), a DM,
            # and a slash command whose ack carries the progress note
            second.send(envelope("env-1b", "events_api", event_callback(ev, "Ev1"), retry_attempt=1))
            dm = message("Which countries receive the $180 million program?", channel="D2", ts=new_ts())
            second.send(envelope("env-2", "events_api", event_callback(dm, "Ev2")))
            command = {"command": "/ask", "text": HAITI, "user_id": "U5", "channel_id": "C5", "team_id": "T0TEAM",
                       "response_url": fake.response_url("cmd"), "trigger_id": "t1", "token": "legacy"}
            second.send(envelope("env-3", "slash_commands", command))
            assert slack.wait_ack("env-1b")[0] == 2
            assert slack.wait_ack("env-2")[0] == 2
            number, ack = slack.wait_ack("env-3")
            assert number == 2 and ack["payload"]["text"] == PROGRESS_TEXT

            assert fake.wait_for(answered("D2", dm["ts"]))
            assert "Guatemala" in fake.thread("D2", dm["ts"])[0]["text"]
            assert fake.wait_for(lambda f: f.calls_to("respond:cmd"))
            time.sleep(0.5)
            assert len(fake.thread("C1", ev["ts"])) == 1  # the redelivery was not answered again
            assert [c.params["channel"] for c in fake.calls_to("chat.postMessage")] == ["C1", "D2"]
        finally:
            handler.close()


def _cli() -> Any:
    from bot.cli import _settings, cli
    from bot.slack_cli import register

    register(cli, _settings)
    return cli


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-..."}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2-abc"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "changeme"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "xoxb-1-2-abc"}, "SLACK_APP_TOKEN"),
    ],
)
def test_pressbot_slack_names_the_missing_or_placeholder_token(
    env: dict[str, str], named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "PRESSBOT_SLACK_BOT_TOKEN", "PRESSBOT_SLACK_APP_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    result = CliRunner().invoke(_cli(), ["--data-dir", str(tmp_path), "slack"], env=env)
    assert result.exit_code == 2, result.output
    assert f"error: {named}" in result.output and "docs/slack.md" in result.output
    assert "Traceback" not in result.output


def test_pressbot_slack_reports_a_refused_app_token(
    engine: Engine, fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_APP_TOKEN": "xapp-1-revoked", "PRESSBOT_SLACK_API_URL": fake.url,
           "PRESSBOT_EMBEDDING_MODEL": "hash-64", "PRESSBOT_FEEDBACK_DB": str(tmp_path / "fb.sqlite3")}
    data_dir = engine.settings.data_dir
    result = CliRunner().invoke(_cli(), ["--data-dir", str(data_dir), "slack"], env=env)
    assert result.exit_code == 2, result.output
    assert "SLACK_APP_TOKEN" in result.output and "invalid_auth" in result.output


# A Socket Mode server in a process of its own, so that the test can kill -9 it (no close frame,
# as when Slack's edge or the network goes away): it says hello on each connection, prints
# "connected" and each message received, and sends each line read from stdin to the newest one.
KILLABLE_SERVER = r"""
import json, sys, threading
from websockets.sync.server import serve
latest = []
def handle(ws):
    latest.append(ws)
    ws.send(json.dumps({"type": "hello", "num_connections": len(latest), "debug_info": {"host": "killable"},
                        "connection_info": {"app_id": "A0APP"}}))
    print("connected", flush=True)
    for raw in ws:
        print("recv " + raw, flush=True)
server = serve(handle, "127.0.0.1", int(sys.argv[1]))
threading.Thread(target=server.serve_forever, daemon=True).start()
print("listening", flush=True)
for line in sys.stdin:
    latest[-1].send(line.strip())
"""


class KillableServer:
    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", KILLABLE_SERVER, str(port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.next_line(10) == "listening"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def next_line(self, timeout: float) -> str:
        return self.lines.get(timeout=timeout)

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.01, deadline - time.monotonic()))
            if line.startswith(prefix):
                return line

    def send(self, message: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(message + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # the reader thread may hold it
                    pipe.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_socket_mode_reconnects_within_10_s_of_the_server_coming_back(engine: Engine, tmp_path: Path) -> None:
    """Both halves of Slack gone (the websocket killed -9, the Web API stopped), back after 3 s."""
    ws_port = free_port()
    fake = FakeSlack(port=free_port()).start()
    fake.socket_url = f"ws://127.0.0.1:{ws_port}/link/?ticket=t1&app_id=A0APP"
    settings = settings_for(tmp_path, slack_bot_token=fake.bot_token, slack_app_token=fake.app_token,
                            slack_api_url=fake.url)
    server = KillableServer(ws_port)
    handler = socket_mode_handler(create_slack_app(settings, engine), fake.app_token)
    try:
        handler.connect()
        server.wait_for("connected", 10)
        time.sleep(1.5)  # a few pings and pongs
        server.kill()
        fake.stop()
        time.sleep(3)

        fake.start()
        server = KillableServer(ws_port)
        back = time.monotonic()
        server.wait_for("connected", 15)
        reconnect_s = time.monotonic() - back
        assert reconnect_s < 10, f"reconnected {reconnect_s:.1f} s after the server came back"

        ev = mention(HAITI, channel="C1")
        server.send(envelope("env-9", "events_api", event_callback(ev, "Ev9")))
        assert json.loads(server.wait_for("recv", 5)[len("recv "):]) == {"envelope_id": "env-9"}
        assert fake.wait_for(answered("C1", ev["ts"]))
    finally:
        handler.close()
        server.kill()
        fake.stop()

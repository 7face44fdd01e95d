"""A fake Slack Web API on 127.0.0.1, for tests: real HTTP, real slack_sdk client code.

It records every call, checks tokens and the fields Slack requires, validates blocks against
Slack's limits the way Slack does (`invalid_blocks` for a section text over 3000 characters
or more than 50 blocks, `msg_blocks_too_long` past 12k characters, `no_text` when a message
has neither text nor blocks), keeps the messages it was sent (so chat.update can find them),
and answers 429 + Retry-After, an HTTP 5xx, or an error such as `not_in_channel` /
`invalid_auth` on demand (the next n calls of a method, or every call until switched off).
It also serves `auth.test` (Bolt checks its token at start-up), `apps.connections.open`
(returns `socket_url`, for Socket Mode tests) and response URLs (`/respond/<name>`).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECTION_LIMIT = 3000
BLOCK_LIMIT = 50
TOTAL_BLOCK_TEXT = 12_000
TEXT_LIMIT = 40_000
MESSAGE_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}
BOT_METHODS = MESSAGE_METHODS | {"auth.test", "reactions.add", "conversations.info", "chat.delete"}
Fault = tuple[int, dict[str, Any], dict[str, str]]  # HTTP status, body, headers


@dataclass
class Call:
    method: str  # "chat.postMessage", ..., or "respond:<name>" for a response URL
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


def _blocks_error(blocks: Any) -> str | None:
    """The error Slack answers for these blocks, or None."""
    if not isinstance(blocks, list):
        return "invalid_blocks_format"
    if len(blocks) > BLOCK_LIMIT:
        return "invalid_blocks"
    total = 0
    for block in blocks:
        kind = block.get("type")
        if kind not in {"section", "context", "actions", "divider", "header", "image", "rich_text"}:
            return "invalid_blocks"
        if kind in {"section", "header"}:
            text = (block.get("text") or {}).get("text", "")
            if not text.strip() or len(text) > (SECTION_LIMIT if kind == "section" else 150):
                return "invalid_blocks"
            total += len(text)
        for el in block.get("elements", []):
            if el.get("type") in {"mrkdwn", "plain_text"}:
                if not el.get("text", "").strip() or len(el["text"]) > SECTION_LIMIT:
                    return "invalid_blocks"
                total += len(el["text"])
            elif el.get("type") == "button":
                if len(el.get("text", {}).get("text", "")) > 75 or len(el.get("value", "")) > 2000:
                    return "invalid_blocks"
                if not el.get("action_id") or len(el["action_id"]) > 255:
                    return "invalid_blocks"
        if kind == "actions" and not 1 <= len(block.get("elements", [])) <= 25:
            return "invalid_blocks"
    if total > TOTAL_BLOCK_TEXT:
        return "msg_blocks_too_long"
    return None


def message_error(params: dict[str, Any]) -> str | None:
    text, blocks = params.get("text"), params.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except json.JSONDecodeError:
            return "invalid_blocks_format"
    if not text and not blocks:
        return "no_text"
    if text and len(text) > TEXT_LIMIT:
        return "msg_too_long"
    return _blocks_error(blocks) if blocks else None


class FakeSlack:
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-fake-app-token",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_id: str = "T0TEAM",
        port: int = 0,
    ) -> None:
        self.bot_token, self.app_token = bot_token, app_token
        self.bot_user_id, self.bot_id, self.team_id = bot_user_id, bot_id, team_id
        self.socket_url = "ws://127.0.0.1:9/unset"  # what apps.connections.open hands out
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._always: dict[str, Fault] = {}  # method -> the fault every call gets, until switched off
        self._port = port  # 0: any free port (a fixed one lets a test stop and restart "Slack")
        self._ts = itertools.count(1)
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._port, "start() the fake first"
        return self._port

    @property
    def url(self) -> str:
        """The Web API base URL (what `WebClient(base_url=...)` / PRESSBOT_SLACK_API_URL take)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    # --- faults on demand ---------------------------------------------------------------
    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}`."""
        with self._cond:
            self._faults[method].extend([(200, {"ok": False, "error": error}, {})] * times)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 with Retry-After."""
        with self._cond:
            fault = (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
            self._faults[method].extend([fault] * times)

    def server_error_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP `status` (a 5xx), as Slack does when it is unwell."""
        with self._cond:
            self._faults[method].extend([(status, {"ok": False, "error": "internal_error"}, {})] * times)

    def fail_always(self, method: str, *, status: int = 200, error: str = "internal_error",
                    retry_after: int | None = None) -> None:
        """Every call of `method` fails (HTTP `status`, `error`) until `heal(method)`."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._cond:
            self._always[method] = (status, {"ok": False, "error": error}, headers)

    def heal(self, method: str | None = None) -> None:
        """Switch off `fail_always` for `method` (every method when None) and drop pending faults."""
        with self._cond:
            for m in [method] if method else list(self._always) + list(self._faults):
                self._always.pop(m, None)
                self._faults.pop(m, None)

    # --- what happened --------------------------------------------------------------------
    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> bool:
        """Wait until `predicate(self)` is true (re-checked after every call)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The bot's messages in a thread, as they are now (after updates)."""
        with self._cond:
            return [m for (ch, _), m in self.messages.items() if ch == channel and m.get("thread_ts") == thread_ts]

    # --- the server side --------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        raw = req.rfile.read(int(req.headers.get("Content-Length") or 0)).decode("utf-8")
        ctype = req.headers.get("Content-Type", "")
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        if "json" in ctype and raw:
            params.update(json.loads(raw))
        elif raw:
            params.update(parse_qsl(raw))
        if parts.path.startswith("/respond/"):
            method = "respond:" + parts.path.rsplit("/", 1)[1]
        elif parts.path.startswith("/api/"):
            method = parts.path[len("/api/"):]
        else:
            self._send(req, Call(parts.path, params, 404, {"ok": False, "error": "unknown_path"}))
            return
        auth = req.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else params.get("token", "")
        with self._cond:
            faults = self._faults.get(method)
            fault = faults.pop(0) if faults else self._always.get(method)
            if fault is not None:
                status, body, headers = fault
                call = Call(method, params, status, body)
            else:
                headers = {}
                call = Call(method, params, 200, self._answer(method, params, token))
            self.calls.append(call)
            self._cond.notify_all()
        self._send(req, call, headers)

    def _send(self, req: BaseHTTPRequestHandler, call: Call, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(call.response).encode()
        req.send_response(call.status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(payload)

    def _answer(self, method: str, p: dict[str, Any], token: str) -> dict[str, Any]:
        """Slack's answer to one call (the lock is held)."""
        if method.startswith("respond:"):
            error = message_error(p)
            return {"ok": False, "error": error} if error else {"ok": True}
        if method == "apps.connections.open":
            if token != self.app_token:
                return {"ok": False, "error": "invalid_auth" if token else "not_authed"}
            return {"ok": True, "url": self.socket_url}
        if method not in BOT_METHODS:
            return {"ok": False, "error": "unknown_method"}
        if token != self.bot_token:
            return {"ok": False, "error": "invalid_auth" if token else "not_authed"}
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake", "team_id": self.team_id,
                    "user": "pressbot", "user_id": self.bot_user_id, "bot_id": self.bot_id}
        if (method in MESSAGE_METHODS or method in {"reactions.add", "chat.delete"}) and not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if method in MESSAGE_METHODS:
            error = message_error(p)
            if error:
                return {"ok": False, "error": error}
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            msg = {"type": "message", "ts": ts, "bot_id": self.bot_id, "user": self.bot_user_id,
                   "text": p.get("text", ""), "blocks": p.get("blocks"), "thread_ts": p.get("thread_ts")}
            self.messages[(p["channel"], ts)] = msg
            return {"ok": True, "channel": p["channel"], "ts": ts, "message": msg}
        if method == "chat.update":
            stored = self.messages.get((p["channel"], p.get("ts", "")))
            if stored is None:
                return {"ok": False, "error": "message_not_found"}
            stored.update(text=p.get("text", ""), blocks=p.get("blocks"), edited=True)
            return {"ok": True, "channel": p["channel"], "ts": p["ts"], "text": stored["text"], "message": stored}
        if method == "chat.delete":
            if self.messages.pop((p["channel"], p.get("ts", "")), None) is None:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": p["channel"], "ts": p["ts"]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}
        return {"ok": True}

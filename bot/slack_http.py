"""Slack in HTTP mode: `POST /slack/events` on the API server, for horizontal scaling.

Events, slash commands and button clicks all arrive at this one URL (set it as the Request
URL of Event Subscriptions, of the /ask command and of Interactivity). Bolt verifies each
request's `v0=` HMAC-SHA256 signature and its 5-minute timestamp window (401 otherwise) and
acknowledges events before the answer is computed.

The URL is served from the moment the server starts (`SlackEvents`), not only once the
engine is loaded: until then Slack's url_verification challenge is answered (so the Request
URL can be saved while a replica starts), events get 503 (Slack delivers them again later),
and /ask gets a short "starting up" note. A bot token that Slack rejects turns Slack off with
one clear error in the log: the HTTP API keeps serving, /slack/events answers 503 saying why.
A Slack Web API that cannot be reached is tried again in the background. /readyz reports the
state as its `slack` field ("starting", "ready", "rejected: <why>"), never as a 503; when the
server shuts down (the router's lifespan), the Slack app's thread pools stop.

Mount it on the API app (the router at once, `start` once the engine is loaded)::

    create_app(settings, extra_routers=slack_mounts(settings))
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.api_routes import ReportingRouter
from bot.slack_app import SlackApp, SlackUnreachableError, create_slack_app, require_secret
from pressbot.config import Settings
from pressbot.engine import Engine
from pressbot.errors import ConfigError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
STARTING_TEXT = "pressbot is starting up and cannot answer yet; please ask again in a minute."
OFF_TEXT = "pressbot cannot answer on Slack right now; the problem has been logged for the operator."
RETRY_DELAYS_S = (5.0, 300.0)  # first and longest wait between attempts to reach an unreachable Web API


class SlackEvents:
    """/slack/events, served before, while and after the engine loads (see the module docstring)."""

    def __init__(self, settings: Settings, *, client: WebClient | None = None,
                 retry_delays_s: tuple[float, float] = RETRY_DELAYS_S) -> None:
        self.settings, self.client, self.retry_delays_s = settings, client, retry_delays_s
        self.verifier = SignatureVerifier(require_secret(settings.slack_signing_secret, "SLACK_SIGNING_SECRET"))
        self.app: SlackApp | None = None
        self.handler: SlackRequestHandler | None = None
        self.off: str | None = None  # why Slack is off (a rejected token, a broken app)
        self.rejected = False  # off because Slack rejected the bot token (not a bug)
        self.waiting: str | None = None  # why Slack is not on yet (the Web API unreachable)
        self._stop = threading.Event()
        self.router: APIRouter = ReportingRouter(readiness_field="slack", state=self.readiness, tags=["slack"],
                                                 lifespan=self._lifespan)
        self.router.add_api_route(EVENTS_PATH, self.handle, methods=["POST"], include_in_schema=False)

    @property
    def state(self) -> str:
        return "on" if self.handler else "off" if self.off else "starting"

    def readiness(self) -> str:
        """Slack's state for /readyz: "starting" ("starting: <why>" while Slack cannot be reached),
        "ready", "rejected: <why>" (the bot token) or "failed: <why>" (the app could not be built)."""
        if self.handler is not None:
            return "ready"
        if self.off:
            return f"{'rejected' if self.rejected else 'failed'}: {_one_line(self.off)}"
        return f"starting: {_one_line(self.waiting)}" if self.waiting else "starting"

    @asynccontextmanager
    async def _lifespan(self, _: Any) -> AsyncIterator[None]:
        yield
        await anyio.to_thread.run_sync(self.close)  # the server is shutting down; close waits a little

    def start(self, engine: Engine) -> None:
        """Build the Bolt app for `engine` (Slack's auth.test). Never raises: see the module docstring."""
        if not self._connect(engine):
            threading.Thread(target=self._keep_trying, args=(engine,), name="pressbot-slack-connect",
                             daemon=True).start()

    def _keep_trying(self, engine: Engine) -> None:
        """In a thread of its own (the engine's loader is not held), backing off."""
        delay, longest = self.retry_delays_s
        while not self._stop.wait(delay) and not self._connect(engine):
            delay = min(2 * delay, longest)

    def _connect(self, engine: Engine) -> bool:
        """One attempt: True when Slack is on or off for good, False to try again later."""
        try:
            app = create_slack_app(self.settings, engine, client=self.client)
        except SlackUnreachableError as exc:
            self.waiting = str(exc)
            log.error("Slack is not on yet: %s; trying again in the background", exc)
            return False
        except ConfigError as exc:  # the bot token rejected
            self.off, self.rejected, self.waiting = str(exc), True, None
            log.error("Slack is off: %s. The HTTP API keeps serving; /slack/events answers 503 "
                      "until the token is fixed and the server restarted", exc)
            return True
        except Exception as exc:  # a bug: Slack off, the API keeps serving
            self.off, self.waiting = f"{type(exc).__name__}: {exc}", None
            log.exception("Slack is off: the Slack app could not be built")
            return True
        if self._stop.is_set():  # closed while auth.test was under way
            app.close()
            return True
        self.app, self.handler, self.waiting = app, SlackRequestHandler(app), None
        log.info("Slack HTTP mode is on at %s", EVENTS_PATH)
        return True

    def close(self) -> None:
        """Stop trying to connect, and stop the Slack app's thread pools (no new answers)."""
        self._stop.set()
        if self.app is not None:
            self.app.close()

    async def handle(self, request: Request) -> Response:
        if self.handler is not None:
            return await self.handler.handle(request)
        body = await request.body()
        if not self.verifier.is_valid_request(body, request.headers):
            return JSONResponse({"error": "invalid request signature"}, status_code=401)
        kind, payload = _classify(body, request.headers.get("content-type", ""))
        if kind == "url_verification":
            return JSONResponse({"challenge": payload.get("challenge", "")})
        if kind == "command":  # Slack does not retry a slash command: say why there is no answer
            return JSONResponse({"response_type": "ephemeral", "text": OFF_TEXT if self.off else STARTING_TEXT})
        if self.off:
            detail = f"Slack is off: {self.off}"
        elif self.waiting:
            detail = f"Slack is not on yet: {self.waiting}"
        else:
            detail = "the index and model are still loading"
        # 503: Slack delivers the event again (after about 1 and 5 minutes); a click shows as failed
        return JSONResponse({"error": detail}, status_code=503, headers={"Retry-After": "30" if self.off else "5"})


def _one_line(text: str) -> str:
    return " ".join(text.split())  # Slack's error texts span lines; /readyz shows one


def _classify(body: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """("url_verification" | "command" | "interaction" | "event", the payload) of a Slack request."""
    text = body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            return "event", {}
        kind = payload.get("type") if isinstance(payload, dict) else None
        return ("url_verification" if kind == "url_verification" else "event"), payload if kind else {}
    form = {k: v[0] for k, v in parse_qs(text).items()}
    if "command" in form:
        return "command", form
    return "interaction", form


def slack_mounts(settings: Settings, *, client: WebClient | None = None) -> list[APIRouter | Callable[[Engine], None]]:
    """What `create_app(extra_routers=...)` takes for Slack's HTTP mode: the router (served at
    once) and the hook that turns it on once the engine is loaded. Empty without a signing secret."""
    if settings.slack_signing_secret is None:
        return []
    require_secret(settings.slack_bot_token, "SLACK_BOT_TOKEN", prefix="xoxb-")  # at start, not in the loader
    events = SlackEvents(settings, client=client)
    return [events.router, events.start]


def slack_router(settings: Settings, engine: Engine, *, client: WebClient | None = None) -> APIRouter:
    """An APIRouter serving Slack at /slack/events for a loaded engine. Needs SLACK_SIGNING_SECRET
    and SLACK_BOT_TOKEN (a ConfigError naming the variable otherwise) and calls Slack's auth.test
    once; a token Slack rejects turns Slack off (logged, 503 at /slack/events), it does not raise."""
    require_secret(settings.slack_bot_token, "SLACK_BOT_TOKEN", prefix="xoxb-")
    events = SlackEvents(settings, client=client)
    events.start(engine)
    return events.router


__all__ = ["EVENTS_PATH", "SlackEvents", "slack_mounts", "slack_router"]

"""Slack in HTTP mode: `POST /slack/events` on the API server, for horizontal scaling.

Events, slash commands and button clicks all arrive at this one URL (set it as the Request
URL of Event Subscriptions, of the /ask command and of Interactivity). Bolt verifies each
request's `v0=` HMAC-SHA256 signature and its 5-minute timestamp window (401 otherwise) and
acknowledges events before the answer is computed.

Mount it on the API app::

    app.include_router(slack_router(settings, engine))
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_sdk import WebClient

from bot.slack_app import create_slack_app, require_secret
from pressbot.config import Settings
from pressbot.engine import Engine

EVENTS_PATH = "/slack/events"


def slack_router(settings: Settings, engine: Engine, *, client: WebClient | None = None) -> APIRouter:
    """An APIRouter serving Slack at /slack/events. Needs SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN
    (a ConfigError naming the variable otherwise) and calls Slack's auth.test once."""
    require_secret(settings.slack_signing_secret, "SLACK_SIGNING_SECRET")
    handler = SlackRequestHandler(create_slack_app(settings, engine, client=client))
    router = APIRouter(tags=["slack"])

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return router

"""`pressbot serve`: run the HTTP API (bot/api.py) with uvicorn."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from bot.api_security import is_loopback
from pressbot.config import Settings
from pressbot.errors import ConfigError

log = logging.getLogger(__name__)


def check_binding(settings: Settings, host: str) -> None:
    """Without tokens the API is open to anyone who reaches it: allow that on loopback only."""
    if not any(t.get_secret_value().strip() for t in settings.api_tokens) and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without API tokens: anyone who can reach it could use it; "
            "set PRESSBOT_API_TOKENS (comma-separated or a JSON list of long random strings), "
            "or bind to 127.0.0.1"
        )


def one_torch_thread_per_call() -> None:
    """Requests already run in parallel (--concurrency); more torch threads per call would only
    oversubscribe the cores, and OpenMP threads spin when the machine is busy (a query embedding
    went from 20 ms to over 1 s on a loaded 2-core machine). OMP_NUM_THREADS, if set, wins."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch = sys.modules.get("torch")  # already imported: set it for the threads started from now on
    if torch is not None:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def slack_routers(settings: Settings) -> list[Any]:
    """Slack's HTTP mode (/slack/events) on the same server, when its signing secret is set: its
    router is served from start-up (the url_verification challenge answered, events 503 until the
    engine is loaded), and turned on by a hook once the engine is."""
    if settings.slack_signing_secret is None:
        return []
    try:
        from bot.slack_http import slack_mounts
    except ImportError as exc:
        log.warning("SLACK_SIGNING_SECRET is set but Slack's HTTP mode is unavailable (%s); "
                    "install pressbot[slack]", exc)
        return []
    return list(slack_mounts(settings))


def register(cli: click.Group, settings_of: Callable[..., Settings]) -> None:
    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to bind; other than loopback only with PRESSBOT_API_TOKENS set.")
    @click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
    @click.option("--concurrency", type=click.IntRange(1, 64),
                  help="Engine calls running at once; more requests queue (default: the number of CPUs).")
    @click.pass_context
    def serve(ctx: click.Context, host: str, port: int, concurrency: int | None) -> None:
        """Serve the HTTP API: /v1/ask, /v1/search, /v1/releases/{id}, /v1/stats, /docs, /metrics.

        The index and model load in the background: /healthz answers at once, /readyz and /v1
        answer 503 until the engine is ready. With SLACK_SIGNING_SECRET set, Slack's HTTP mode
        is served at /slack/events too.

        \b
        Examples:
          pressbot serve                                   # http://127.0.0.1:8000/docs
          PRESSBOT_API_TOKENS=s3cret-1,s3cret-2 pressbot serve --host 0.0.0.0 --port 8080
          curl -H 'Authorization: Bearer s3cret-1' -H 'Content-Type: application/json' \\
               -d '{"question": "Which countries receive the $180 million program?"}' \\
               http://127.0.0.1:8080/v1/ask
        """
        import uvicorn

        from bot.api import create_app
        from bot.api_server import uvicorn_options

        settings = settings_of(ctx)
        check_binding(settings, host)
        one_torch_thread_per_call()
        app = create_app(settings, extra_routers=slack_routers(settings), engine_concurrency=concurrency)
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"pressbot API on http://{shown}:{port} (docs: /docs); Ctrl-C stops it.", err=True)
        verbose = logging.getLogger().getEffectiveLevel() <= logging.INFO
        # log_config=None: uvicorn logs through the root logger that the CLI configured
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=verbose, timeout_graceful_shutdown=5,
                    **uvicorn_options(settings))

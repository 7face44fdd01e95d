"""The HTTP API: a thin FastAPI face over `Engine` (answer, search, releases, stats).

    POST /v1/ask              the Answer JSON; `Accept: text/event-stream` streams it (SSE)
    POST /v1/search           ranked passages (one per release) with metadata and scores
    GET  /v1/releases/{id}    one release; ids are URLs or archive paths: percent-encode them
    GET  /v1/stats            what the index holds
    GET  /healthz  /readyz    process up / engine loaded (503 until then), and Slack's state
    GET  /metrics             Prometheus text format
    GET  /openapi.json /docs  the schema and an offline Swagger UI

`create_app(settings)` returns at once: the engine (index + embedding model) is built in a
background thread when the app starts, so /healthz answers immediately and /v1 gives 503
until /readyz says ready. Tests pass a ready `engine`. The engine is CPU-bound and
synchronous: its calls run in worker threads, at most `engine_concurrency` at a time, so a
burst queues instead of thrashing the cores.

Every error is `application/problem+json` (RFC 9457, bot/api_problems.py). /v1 needs
`Authorization: Bearer <token>` when PRESSBOT_API_TOKENS is set and is rate-limited per caller
(bot/api_security.py). The routes are in bot/api_routes.py, the metrics in bot/api_metrics.py,
the offline /docs in bot/api_docs.py; this module assembles the app and loads the engine.

Mount point for other faces (Slack's HTTP mode at /slack/events): `extra_routers` takes
APIRouters, included as they are (served from the start), or factories `(engine) -> APIRouter
| None`, called once the engine is loaded (a router returned is served from then on; None: the
factory only started something, e.g. Slack's HTTP mode on its router mounted at once).
They sit outside /v1: no bearer token or rate limit (Slack signs its requests), but the body
limit and the metrics apply. Their handlers can also reach the engine through the
`current_engine` dependency. A router's own lifespan runs with the app's (Slack's closes its
thread pools when the app shuts down); a `ReportingRouter` reports its face's state in /readyz.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware

from bot.api_docs import install_docs
from bot.api_metrics import Metrics, MetricsMiddleware
from bot.api_problems import add_problem_schema, install_problem_handlers
from bot.api_routes import EngineDep, ReportingRouter, current_engine, ops_router, v1_router
from bot.api_security import BodyLimitMiddleware, RateLimiter, TokenAuth, caller_gate, make_rate_limiter
from pressbot.config import Settings
from pressbot.engine import Engine
from pressbot.errors import IndexError_, PressbotError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
RETRY_DELAYS_S = (5.0, 300.0)  # first and longest wait between attempts to open a missing/unreachable index

RouterSource = APIRouter | Callable[[Engine], APIRouter | None]
T = TypeVar("T")

__all__ = ["MAX_BODY_BYTES", "EngineDep", "ReportingRouter", "RouterSource", "Runtime", "create_app",
           "current_engine", "load_engine"]


# --- the engine, loaded in the background ------------------------------------------------
@dataclass
class Runtime:
    settings: Settings
    engine: Engine | None
    limiter: anyio.CapacityLimiter
    auth: TokenAuth
    rate: RateLimiter
    metrics: Metrics
    factories: list[Callable[[Engine], APIRouter | None]]
    error: str | None = None
    faces: dict[str, Callable[[], str]] = field(default_factory=dict)  # Readiness field -> the face's state

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous engine call in a worker thread, bounded by the limiter."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self.limiter)


def load_engine(settings: Settings) -> Engine:
    """Open the index, load the model and run one search so the first request is not slow."""
    engine = Engine.from_settings(settings)
    engine.warm_up()
    return engine


async def _load_in_background(app: FastAPI, rt: Runtime, loader: Callable[[Settings], Engine]) -> None:
    delay, longest = RETRY_DELAYS_S
    while True:
        t0 = time.perf_counter()
        try:
            engine = await anyio.to_thread.run_sync(loader, rt.settings, abandon_on_cancel=True)
            routers = [await anyio.to_thread.run_sync(f, engine, abandon_on_cancel=True) for f in rt.factories]
        except IndexError_ as exc:  # no index yet, or the Chroma server is not up yet: try again later
            rt.error = f"{exc} (trying again in {delay:.0f} s)"
            log.error("the engine is not ready: %s", rt.error)
            await asyncio.sleep(delay)
            delay = min(2 * delay, longest)  # each attempt loads the model again: back off
            continue
        except Exception as exc:  # a bad setting, a broken model: needs a restart with a fix
            rt.error = str(exc) or type(exc).__name__
            log.error("the engine failed to load: %s", rt.error, exc_info=not isinstance(exc, PressbotError))
            return
        for router in routers:
            if router is not None:
                app.include_router(router)
        rt.engine, rt.error = engine, None
        log.info("engine ready in %.1f s: %s", time.perf_counter() - t0, engine.index.location())
        return


# --- the app -------------------------------------------------------------------------------
def _warn_half_configured_slack(settings: Settings) -> None:
    """A bot token without the signing secret serves no /slack/events: say so, naming the variable."""
    token = settings.slack_bot_token.get_secret_value().strip() if settings.slack_bot_token else ""
    secret = settings.slack_signing_secret.get_secret_value().strip() if settings.slack_signing_secret else ""
    if token and not secret:
        log.warning("SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET (or PRESSBOT_SLACK_SIGNING_SECRET) is not: "
                    "this server does not serve Slack's HTTP mode (/slack/events needs the Signing Secret from "
                    "the app's Basic Information page); for Socket Mode run `pressbot slack` instead; "
                    "see docs/slack.md")


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    extra_routers: Sequence[RouterSource] = (),
    engine_concurrency: int | None = None,
    loader: Callable[[Settings], Engine] = load_engine,
) -> FastAPI:
    """The API app. With `engine=None` the engine is loaded (by `loader`) when the app starts.

    `extra_routers`: see the module docstring (Slack's /slack/events goes here).
    `engine_concurrency`: engine calls running at once (default: the number of CPUs).
    """
    auth = TokenAuth(settings.api_tokens)
    factories = [r for r in extra_routers if not isinstance(r, APIRouter)]
    rt = Runtime(
        settings=settings,
        engine=None,
        limiter=anyio.CapacityLimiter(engine_concurrency or os.cpu_count() or 2),
        auth=auth,
        rate=make_rate_limiter(settings),
        metrics=Metrics(),
        factories=factories,
        faces={r.readiness_field: r.state for r in extra_routers if isinstance(r, ReportingRouter)},
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not auth.enabled:
            log.warning("PRESSBOT_API_TOKENS is not set: the API accepts requests without a token "
                        "(allowed only on a loopback address)")
        _warn_half_configured_slack(settings)
        task = None
        if rt.engine is None:
            task = asyncio.create_task(_load_in_background(app, rt, loader))
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(
        title="pressbot",
        version="0.1.0",
        summary="Answers with numbered citations from a press-release archive.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.pressbot = rt
    install_problem_handlers(app)
    add_problem_schema(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    if settings.allowed_hosts:  # a Host header the operator did not list is answered 400
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(MetricsMiddleware, metrics=rt.metrics)  # outermost: counts the 413s too
    app.include_router(v1_router(), dependencies=[Depends(caller_gate(auth, rt.rate))])
    app.include_router(ops_router())
    for router in extra_routers:
        if isinstance(router, APIRouter):
            app.include_router(router)  # its lifespan, if any, joins the app's
    install_docs(app)
    if engine is not None:
        for factory in factories:
            made = factory(engine)
            if made is not None:
                app.include_router(made)
        rt.engine = engine
    return app

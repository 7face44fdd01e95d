"""The state `pressbot serve` replicas share, in Redis (PRESSBOT_REDIS_URL): Slack event dedupe
and the API rate limits. Unset, each process keeps its own (the single-process default).

Redis is a helper, not a dependency of an answer: when it cannot be reached (or refuses a
command) the callers fall back to their in-process state and the bot keeps answering. That is
logged once per process, with what it risks; after a failure Redis is left alone for a few
seconds (no connect timeout on every request), then tried again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from pressbot.errors import ConfigError

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError:  # pragma: no cover - the api and slack extras install it
    raise ConfigError("PRESSBOT_REDIS_URL is set but redis-py is not installed; "
                      "install it with pip install 'pressbot[api]'") from None

log = logging.getLogger(__name__)
T = TypeVar("T")

KEY_PREFIX = "pressbot:"  # every key pressbot writes: one namespace in a shared Redis
RISKS = ("until it is back, a Slack retry or the message twin of a mention that reaches another replica "
         "may be answered twice, and each replica grants its own API rate limit")


def redacted(url: str) -> str:
    """The URL without its user and password, for logs."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


class SharedState:
    """A Redis client that reports failures instead of raising them (see `run`)."""

    def __init__(self, url: str, *, timeout_s: float = 0.5, pause_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.where = redacted(url)
        # short timeouts and one immediate retry (a pooled connection Redis closed): a slow
        # Redis must not hold an ack to Slack (3 s) or an API request for long
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s, retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )
        self.pause_s = pause_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until: float | None = None  # set while Redis is considered unreachable
        self._warned = False

    def key(self, kind: str, name: str) -> str:
        """The Redis key of `name` in `kind` ("rate", "dedupe"): all under one namespace."""
        return f"{KEY_PREFIX}{kind}:{name}"

    @property
    def available(self) -> bool:
        return self._down_until is None

    def run(self, fn: Callable[[redis.Redis], T]) -> T | None:
        """fn(client), or None when Redis is unreachable: the caller then uses its in-process state."""
        down_until = self._down_until
        if down_until is not None and self._clock() < down_until:
            return None
        try:
            result = fn(self.client)
        except redis.RedisError as exc:
            self._failed(exc)
            return None
        if down_until is not None:
            with self._lock:
                self._down_until = None
            log.info("Redis at %s is reachable again: replicas share dedupe and rate limits again", self.where)
        return result

    def check(self) -> bool:
        """Ping Redis once (at start-up, so a wrong URL shows in the log at once)."""
        return bool(self.run(lambda r: r.ping()))

    def _failed(self, exc: redis.RedisError) -> None:
        with self._lock:
            first_outage = self._down_until is None
            self._down_until = self._clock() + self.pause_s
            warn, self._warned = not self._warned, True
        if warn:
            log.warning("Redis at %s is unavailable (%s: %s): using in-process state; %s",
                        self.where, type(exc).__name__, exc, RISKS)
        elif first_outage:
            log.debug("Redis at %s is unavailable again (%s)", self.where, exc)


@cache
def shared_state(url: str) -> SharedState:
    """One client per URL and process: the API and the Slack app share it (and its one warning)."""
    state = SharedState(url)
    if state.check():
        log.info("shared state (Slack dedupe, API rate limits) in Redis at %s", state.where)
    return state

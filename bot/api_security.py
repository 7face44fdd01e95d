"""Who may call the API, how often and how much: bearer tokens, a per-caller rate limit and
a limit on the body's size.

Tokens come from PRESSBOT_API_TOKENS (several may be valid at once, so they can be rotated)
and are compared in constant time. A caller is known by a short digest of its token, never
the token itself, so nothing that names a caller (rate-limit keys, logs) can leak a token.
Without tokens the API is open, which `pressbot serve` allows on a loopback address only;
callers are then told apart by their IP address.

The limits live in this process, or in Redis when PRESSBOT_REDIS_URL is set, so that replicas
behind a load balancer grant one limit between them (`SharedRateLimiter`).

`caller_gate` is the FastAPI dependency that /v1 runs for each request (401 without a valid
token, 429 past the limit); `BodyLimitMiddleware` answers 413 for a body over the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api_problems import ApiProblem, problem

if TYPE_CHECKING:
    import redis

    from bot.shared_state import SharedState
    from pressbot.config import Settings


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; False for 0.0.0.0, :: and every other address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _digest(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()[:12]


class TokenAuth:
    def __init__(self, tokens: Iterable[SecretStr]) -> None:
        values = [t.get_secret_value().strip().encode("utf-8") for t in tokens]
        self._tokens = [v for v in values if v]  # an empty token would let `Bearer ` through

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def caller(self, authorization: str | None) -> str | None:
        """The caller id (`token:<digest>`) for a valid `Authorization: Bearer ...`, else None."""
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        given = presented.strip().encode("utf-8")
        # compare with every token so the time taken does not tell which one nearly matched
        matched = [hmac.compare_digest(given, token) for token in self._tokens]
        return f"token:{_digest(given)}" if any(matched) else None


class RateLimiter:
    """A token bucket per caller: `per_minute` requests, refilled evenly over the minute.

    Thread-safe; idle callers are forgotten once their bucket is full again, so memory stays
    bounded by the callers of the last minute.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, last update)
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def acquire(self, caller: str) -> float | None:
        """None when the request may go ahead, else the seconds to wait (for Retry-After)."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(caller, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                wait = None
            else:
                self._buckets[caller] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            if now - self._last_sweep > 60.0:
                self._sweep(now)
        return wait

    def _sweep(self, now: float) -> None:
        full_after = self.capacity / self.rate
        self._buckets = {c: (t, last) for c, (t, last) in self._buckets.items() if now - last < full_after}
        self._last_sweep = now


# The same token bucket in Redis, one hash per caller, updated atomically by one script run.
# Redis's clock, not each replica's: replicas whose clocks differ still share one bucket.
# The reply is a string: Redis turns a Lua number into an integer, which would drop a fraction.
_BUCKET = """
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local last = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate)
local wait = -1
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""


class SharedRateLimiter(RateLimiter):
    """The bucket in Redis, shared by the replicas; this process's own buckets while Redis is
    unreachable (each replica then grants the full limit: logged once by SharedState)."""

    def __init__(self, shared: SharedState, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(per_minute, clock)
        self.shared = shared
        self._script = shared.client.register_script(_BUCKET)  # EVALSHA, loading the script when Redis lacks it

    def acquire(self, caller: str) -> float | None:
        def take(client: redis.Redis) -> float:
            reply = self._script(keys=[self.shared.key("rate", caller)], args=[self.capacity, self.rate], client=client)
            return float(reply)

        wait = self.shared.run(take)
        if wait is None:
            return super().acquire(caller)
        return None if wait < 0 else wait


def make_rate_limiter(settings: Settings) -> RateLimiter:
    """The limiter the settings ask for: in Redis when PRESSBOT_REDIS_URL is set, else in-process."""
    if not settings.redis_url:
        return RateLimiter(settings.api_rate_limit)
    from bot.shared_state import shared_state

    return SharedRateLimiter(shared_state(settings.redis_url), settings.api_rate_limit)


def retry_after(wait_s: float) -> str:
    """The Retry-After header value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))


# --- the FastAPI side: the gate of /v1 and the body limit ------------------------------------
BEARER = HTTPBearer(auto_error=False, description="One of the tokens in PRESSBOT_API_TOKENS.")


def client_address(request: Request) -> str:
    # the peer, or the client a trusted proxy names (uvicorn's proxy headers, see bot/api_server.py)
    return request.client.host if request.client else "unknown"


def caller_gate(auth: TokenAuth, rate: RateLimiter) -> Callable[..., None]:
    """The dependency that admits a /v1 request: with tokens, a valid bearer token (401) within
    its rate limit (429); without tokens, within the client address's rate limit."""

    def admit(caller: str) -> None:
        wait = rate.acquire(caller)
        if wait is not None:
            raise ApiProblem(429, f"rate limit of {rate.capacity:.0f} requests per minute reached; "
                             f"retry in {retry_after(wait)} s", "rate-limited", {"Retry-After": retry_after(wait)})

    def require_token(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]) -> None:
        caller = auth.caller(request.headers.get("authorization"))
        if caller is None:
            # guessing tokens costs the guesser: failures count against the address's own limit
            admit(f"auth-failures:{client_address(request)}")
            raise ApiProblem(401, "a valid bearer token is required: send `Authorization: Bearer <token>` with one "
                             "of the tokens in PRESSBOT_API_TOKENS", "unauthorized", {"WWW-Authenticate": "Bearer"})
        admit(caller)

    def limit_by_client(request: Request) -> None:
        admit(f"ip:{client_address(request)}")

    return require_token if auth.enabled else limit_by_client


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`: at once from Content-Length, else while reading (chunked).

    (Starlette's own limit answers in plain text; this one keeps the problem+json format.)
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await problem(413, self.detail, kind="too-large")(scope, receive, send)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ApiProblem(413, self.detail, "too-large")  # rendered by the app's handler
            return message

        await self.app(scope, receive_limited, send)

    @property
    def detail(self) -> str:
        return f"the request body is larger than {self.max_bytes // 1024} KB; send a shorter question"

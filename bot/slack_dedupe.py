"""Exactly one answer per question: remember what was already handled, for a while.

Slack redelivers an event it thinks was not acknowledged (same `event_id`, with
`X-Slack-Retry-Num`), and one @mention arrives twice, as `app_mention` and as `message`
(different event ids, same channel + ts). A question is new only when none of its keys was
seen in the last `ttl_s` seconds. The memory is bounded: the oldest keys are dropped first.

In-process by default. Replicas behind a load balancer (a retry may reach another replica than
the first delivery) share the memory in Redis when PRESSBOT_REDIS_URL is set (`SharedDeduper`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

    from bot.shared_state import SharedState
    from pressbot.config import Settings


class Deduper:
    def __init__(self, ttl_s: float = 600.0, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> when first seen, oldest first
        self._lock = threading.Lock()

    def first_time(self, keys: Iterable[str | None]) -> bool:
        """True when none of `keys` was seen recently; all of them are remembered either way."""
        present = [k for k in keys if k]
        now = self._clock()
        with self._lock:
            self._expire(now)
            fresh = not any(k in self._seen for k in present)
            for k in present:
                self._seen.setdefault(k, now)
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
        return fresh

    def _expire(self, now: float) -> None:
        while self._seen:
            key, when = next(iter(self._seen.items()))
            if now - when < self.ttl_s:
                break
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)




class SharedDeduper(Deduper):
    """The same memory in Redis, shared by the replicas: one `SET key NX EX ttl` per key, all of
    one question's keys in one MULTI, so of two deliveries racing on different replicas exactly
    one finds all its keys new. The in-process memory is kept too: it answers while Redis is
    unreachable, and still catches a retry to this replica if Redis lost its keys (a restart).
    """

    def __init__(self, shared: SharedState, ttl_s: float = 600.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttl_s, max_keys, clock)
        self.shared = shared

    def first_time(self, keys: Iterable[str | None]) -> bool:
        present = [k for k in keys if k]
        locally_fresh = super().first_time(present)
        if not present:
            return locally_fresh
        ttl = max(1, math.ceil(self.ttl_s))

        def claim(client: redis.Redis) -> list[Any]:
            with client.pipeline(transaction=True) as pipe:
                for key in present:
                    pipe.set(self.shared.key("dedupe", key), "1", nx=True, ex=ttl)
                return pipe.execute()

        claimed = self.shared.run(claim)
        if claimed is None:  # Redis unreachable (logged once by SharedState)
            return locally_fresh
        return all(claimed) and locally_fresh


def make_deduper(settings: Settings) -> Deduper:
    """The deduper the settings ask for: in Redis when PRESSBOT_REDIS_URL is set, else in-process."""
    if not settings.redis_url:
        return Deduper()
    from bot.shared_state import shared_state

    return SharedDeduper(shared_state(settings.redis_url))


def event_keys(body: Mapping[str, Any], event: Mapping[str, Any]) -> list[str | None]:
    """The keys one question is known by: its event id, and its channel + ts."""
    ts = event.get("ts") or event.get("event_ts")
    channel = event.get("channel")
    return [
        f"event:{body['event_id']}" if body.get("event_id") else None,
        f"message:{channel}:{ts}" if channel and ts else None,
    ]

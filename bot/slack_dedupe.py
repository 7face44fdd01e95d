"""Exactly one answer per question: remember what was already handled, for a while.

Slack redelivers an event it thinks was not acknowledged (same `event_id`, with
`X-Slack-Retry-Num`), and one @mention arrives twice, as `app_mention` and as `message`
(different event ids, same channel + ts). A question is new only when none of its keys was
seen in the last `ttl_s` seconds. The memory is bounded: the oldest keys are dropped first.

In-process only: replicas behind a load balancer each remember their own events (Slack
sends one delivery to one replica; a retry may reach another).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any


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


def event_keys(body: Mapping[str, Any], event: Mapping[str, Any]) -> list[str | None]:
    """The keys one question is known by: its event id, and its channel + ts."""
    ts = event.get("ts") or event.get("event_ts")
    channel = event.get("channel")
    return [
        f"event:{body['event_id']}" if body.get("event_id") else None,
        f"message:{channel}:{ts}" if channel and ts else None,
    ]

"""Timing helpers of the benchmarks: wall and CPU clocks of calls, their percentiles, and the
garbage collector's pauses while measuring."""

from __future__ import annotations

import gc
import time
from typing import Any

import numpy as np


def percentiles(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values)
    return {
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p95": round(float(np.percentile(arr, 95)), 1),
        "mean": round(float(arr.mean()), 1),
        "n": len(values),
    }


class Clock:
    """Wall and CPU milliseconds of a call (CPU of every thread of this process)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def time(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        self.cpu.append((time.process_time() - c0) * 1e3)
        self.wall.append((time.perf_counter() - w0) * 1e3)
        return out

    def figures(self) -> dict[str, Any]:
        return {"wall_ms": percentiles(self.wall), "cpu_ms": percentiles(self.cpu)}


class GcPauses:
    """The cyclic garbage collector's pauses while measuring, by generation: a full (generation
    2) collection walks every tracked object of the process, the loaded index's included."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._t0 = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._t0) * 1e3)

    def figures(self) -> dict[str, Any]:
        gc.callbacks.remove(self)
        return {
            f"gen{g}": {"n": len(v), "total_ms": round(sum(v), 1), "max_ms": round(max(v, default=0.0), 1)}
            for g, v in self.pauses.items()
        }

"""How much `--prune` may remove before it looks like a mistake (rsync's `--max-delete`).

A source that suddenly lacks most of its releases is far more often a broken export, a feed
that lists only its latest items or a mounted folder gone missing than a real mass withdrawal,
so such a prune is refused, naming the count, unless the user says `--force`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pressbot.errors import ConfigError

_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class PruneLimit:
    """At most `count` releases, or at most `share` of the source's stored releases."""

    count: int | None = None
    share: float | None = 0.5
    force: bool = False

    @classmethod
    def parse(cls, spec: str | None, *, force: bool = False) -> PruneLimit:
        """`N` (releases) or `N%` (of the source's stored releases); None: the default, half."""
        if spec is None:
            return cls(force=force)
        m = _SPEC.match(spec)
        if not m or (not m.group(2) and "." in m.group(1)) or (m.group(2) and float(m.group(1)) > 100):
            raise ConfigError(
                f"--max-prune {spec!r} is neither a count nor a percentage; "
                "e.g. --max-prune 20 (releases) or --max-prune 10% (of the source's releases)"
            )
        if m.group(2):
            return cls(count=None, share=float(m.group(1)) / 100, force=force)
        return cls(count=int(m.group(1)), share=None, force=force)

    def describe(self, stored: int) -> str:
        if self.count is not None:
            return f"--max-prune {self.count}"
        return f"--max-prune {(self.share or 0) * 100:g}% = {self.allowed(stored)} of {stored}"

    def allowed(self, stored: int) -> int:
        if self.count is not None:
            return self.count
        return math.floor((self.share or 0) * stored)

    def refusal(self, source: str, to_remove: int, stored: int) -> str | None:
        """Why pruning `to_remove` of the `stored` releases of `source` is refused, or None."""
        if self.force or to_remove == 0:
            return None
        if to_remove >= stored:
            why = "every release of that source"
        elif to_remove > self.allowed(stored):
            why = f"more than {self.describe(stored)} allows"
        else:
            return None
        return (
            f"--prune would remove {to_remove} of the {stored} releases of source {source!r} ({why}); "
            "nothing was pruned, the rest of the run was saved. If the source is incomplete (a partial "
            "export, a feed that lists only its latest items), fix it and run again; if they really "
            "are gone, run again with --force or a higher --max-prune"
        )

"""Rate limits kept in memory: how often one key (a person, a room, a login name) may act in
a sliding window. One process per helper account, so per-process counts are the right ones."""

from __future__ import annotations

from collections import defaultdict, deque


class Flood:
    """At most ``limit`` handled messages per ``window`` seconds per key (a person, a room):
    someone pasting fifty lines gets answers to the first few, not a reply storm."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, now: float) -> bool:
        times = self.seen[key]
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        if len(self.seen) > 10_000:  # forget people and rooms quiet for a whole window
            for quiet in [k for k, t in self.seen.items() if not t or now - t[-1] > self.window]:
                del self.seen[quiet]
        return True

"""Console login limits that stop password guessing without handing anyone a way to lock the
real user out.

Each attempt costs a scrypt hash, so failures are limited — but a limit per name alone lets
anyone lock any account by failing on purpose, and behind a reverse proxy every visitor has
the proxy's address. So, counting failures only (a success clears its own):

- a browser that has logged in as the name before (it carries that account's device cookie,
  see :mod:`bot.console.auth`) has a budget of its own: 10 failures per 15 minutes; what
  anybody else does to the name never touches it;
- any other browser: 10 failures per 15 minutes per name and address; 100 per 15 minutes per
  address (one address trying many names); and per name, after 20 failures in an hour from
  such browsers, a wait that doubles with each further failure (2 s, 4 s, … at most 5
  minutes) — guessing slows to a crawl, the account is never locked;
- the address is the peer's, or with ``console.trusted_proxies`` configured and the peer one
  of them, the right-most address in ``X-Forwarded-For`` that is not a trusted proxy (the
  header is ignored otherwise: anyone can write it).

Kept in this process's memory: each process serving the console counts its own.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

ADDRESS_NETWORK = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Limit:
    failures: int
    window: float  # seconds


class LoginThrottle:
    DEVICE = Limit(10, 900.0)
    PAIR = Limit(10, 900.0)
    ADDRESS = Limit(100, 900.0)
    NAME = Limit(20, 3600.0)  # free failures per name before the doubling wait starts
    LONGEST_WAIT = 300.0

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def wait(self, name: str, address: str, device: str | None = None) -> int:
        """Seconds before this attempt may be made (0: go ahead)."""
        now = self.clock()
        if device is not None:
            return self._over(f"device\0{name}\0{device}", self.DEVICE, now)
        waits = [
            self._over(f"pair\0{name}\0{address}", self.PAIR, now),
            self._over(f"address\0{address}", self.ADDRESS, now),
            self._name_wait(name, now),
        ]
        return max(waits)

    def failed(self, name: str, address: str, device: str | None = None) -> None:
        now = self.clock()
        keys = [f"device\0{name}\0{device}"] if device is not None else [
            f"pair\0{name}\0{address}", f"address\0{address}", f"name\0{name}",
        ]  # fmt: skip
        for key in keys:
            self.failures[key].append(now)
        if len(self.failures) > 10_000:
            self._forget(now)

    def succeeded(self, name: str, address: str, device: str | None = None) -> None:
        """The right password: this browser's and this address's failures on the name are
        forgotten (the name's count stays: others may still be guessing)."""
        self.failures.pop(f"pair\0{name}\0{address}", None)
        if device is not None:
            self.failures.pop(f"device\0{name}\0{device}", None)

    def _recent(self, key: str, window: float, now: float) -> deque[float]:
        times = self.failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] > window:
            times.popleft()
        return times

    def _over(self, key: str, limit: Limit, now: float) -> int:
        times = self._recent(key, limit.window, now)
        if len(times) < limit.failures:
            return 0
        return max(1, math.ceil(times[-limit.failures] + limit.window - now))

    def _name_wait(self, name: str, now: float) -> int:
        times = self._recent(f"name\0{name}", self.NAME.window, now)
        beyond = len(times) - self.NAME.failures
        if beyond < 0:
            return 0
        wait = min(2.0 ** (beyond + 1), self.LONGEST_WAIT)
        return max(0, math.ceil(times[-1] + wait - now))

    def _forget(self, now: float) -> None:
        longest = max(self.DEVICE.window, self.PAIR.window, self.ADDRESS.window, self.NAME.window)
        for key in [k for k, t in self.failures.items() if not t or now - t[-1] > longest]:
            del self.failures[key]


def networks(values: Iterable[str]) -> tuple[ADDRESS_NETWORK, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[ADDRESS_NETWORK]) -> str:
    """Who is asking: ``peer``, unless it is a trusted proxy; then the right-most address of
    ``X-Forwarded-For`` (every header, in order) that is not a trusted proxy."""
    peer = peer or ""
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _within(address: str, trusted: Sequence[ADDRESS_NETWORK]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)

"""The texts the outbox sender makes of what it sends together: a burst's relay digest's
template data, coalesced texts joined as one message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.relay_digest import Digest


def digest_data(digest: Digest) -> dict[str, Any]:
    """The relay_digest template's data."""
    top = [{"seller": seller, "orders": orders} for seller, orders in digest.top]
    return {"minutes": digest.minutes, "orders": digest.orders, "units": digest.units, "top": top}


def joined(texts: Iterable[str]) -> str:
    """Coalesced texts as one message: one-line texts (relay lines) one per line, longer
    texts (several "you earned" DMs) separated by a blank line."""
    parts = list(texts)
    return ("\n\n" if any("\n" in t for t in parts) else "\n").join(parts)

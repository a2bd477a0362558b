"""The garbage collector in a long-running bot process.

What start-up builds — settings, templates, ORM mappers, routers, the web app, the libraries'
own tables — lives as long as the process. Left in the collector's oldest generation, every
full collection walks all of it again: a pause that grows with what was loaded, not with the
work, and that lands on whatever messages are in flight (measured with bench/dispatch.py: one
full collection of 127 ms took a paced run's p99 from 19 ms to 348 ms).

:func:`settle` is called once start-up is over: it collects what start-up left behind and
freezes the rest (``gc.freeze``), so later collections walk only what the running bot made.
Nothing is leaked: frozen objects are the ones that stay anyway, and :func:`unsettle` hands
them back to the collector when the bot stops (a process that serves again, as tests do, does
not keep an earlier run's cycles).

Example: ``settle()`` after start-up → ``gc.get_freeze_count()`` is the number of objects
start-up left alive (some hundreds of thousands), and a full collection afterwards takes a
few milliseconds instead of a hundred.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect start-up's garbage and freeze what survives; returns how many objects were
    frozen in all (earlier calls' included)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def unsettle() -> None:
    """Give what :func:`settle` froze back to the collector (when the bot stops)."""
    gc.unfreeze()

"""How ``distbot`` logs: one line per event, time first, and no timer chatter.

The bot itself logs a line per accepted order (``services.orders``), per handled batch of
messages (``bot.runtime.dispatch``) and per failed send (``bot.runtime.sender``), each with its ids.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# alembic: its set-up lines on every start; apscheduler: two INFO lines per timer run ("Running
# job …", "… executed successfully": the co-learning sync alone every 30 s). Their warnings
# (a missed run, an error in a job) still show.
QUIET = ("alembic", "apscheduler")


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)

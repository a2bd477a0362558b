"""Transports: how the bot reaches WeChat.

- ``sim`` (the embedded default): an in-process WeChat world, journaled to a JSONL file and
  driven over HTTP (``/sim/…``, see :mod:`bot.transports.sim_web`) and a web chat page.
- ``wechaty``: python-wechaty over a puppet service (:mod:`bot.transports.wechaty_adapter`).

Both implement :class:`bot.base.transport.Transport`; the rest of the bot talks to that
interface only. May import: ``bot.base`` alone (the interface, the configuration, JSON).
Imported by the composition root (``bot.app``) only."""

"""Transports: how the bot reaches WeChat.

- ``sim`` (the embedded default): an in-process WeChat world, journaled to a JSONL file and
  driven over HTTP (``/sim/…``, see :mod:`bot.transports.sim_web`) and a web chat page.
- ``wechaty``: python-wechaty over a puppet service (:mod:`bot.transports.wechaty_adapter`).

Both implement :class:`bot.base.transport.Transport`; nothing outside this package knows which one
is running.
"""

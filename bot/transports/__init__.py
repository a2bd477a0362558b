"""Transports: how the bot reaches WeChat.

- ``sim`` (the embedded default): an in-process WeChat world, journaled to a JSONL file and
  driven over HTTP (``/sim/…``, see :mod:`bot.transports.sim_web`) and a web chat page.
- ``wechaty``: python-wechaty over a puppet service (:mod:`bot.transports.wechaty_adapter`).
- ``wecom``: WeCom's official APIs (the package :mod:`bot.transports.wecom_transport`, on the API library
  :mod:`bot.transports.wecom`): callbacks, 联系我 and join codes, group posts proposed for a
  staff member's confirmation, DMs through 微信客服. The simulator's WeCom flavour
  (:mod:`bot.transports.sim_wecom`) applies the same rules on ``/sim``.

Each implements :class:`bot.base.transport.Transport` and declares what it can do
(``capabilities``), the routes it adds to the web application and the pace it sends at; the rest
of the bot talks to that interface only. :mod:`bot.transports.registry` maps each
``transport.kind`` to its factory. ``tests/contract/`` runs one suite against every transport.

May import: ``bot.base`` alone (the interface, the configuration, JSON, start-up errors).
Imported by the composition root (``bot.app``) only."""

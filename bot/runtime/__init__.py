"""The engines of a running process: the router and the dispatcher that hands each incoming
event to the first matching handler (``router``, ``dispatch``, answer limits in ``limits``,
the inbox spool kept through database outages in ``spool``), the outbox sender
(``sender``), the co-learning timer (``scheduler``) and what ``/healthz`` reports
(``health``).

May import: ``services``, ``bot.base``, ``models``, ``core`` — never ``handlers`` (the routers
are handed in by the composition root), ``bot.web``, ``bot.console``, ``bot.cli`` or a
transport's module."""

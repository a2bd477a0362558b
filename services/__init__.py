"""The use cases (application services), one module each: order events (``orders``: the
received event through :mod:`core.order_sequence` over the SQL port ``order_store``, with
``order_effects``, the ``order_events`` command and the ``order_file`` CSV format), payouts,
codes and joining (``codes``, ``entry``), friend requests (``friends``), co-learning sessions
and applications (``colearning``, the ``session_draft`` command), catalog sync and the demo
seed (``catalog``), settlement, reports, the outbox for ops (``outbox``), red packets owed,
the material post, room membership (``membership``), what-if loading (``whatif``: the
same order sequence, replayed in memory by :mod:`core.whatif`), stock set
(``stock``), withdrawals (``withdrawals``), group moderation (``moderation``), and the audit log
every change to money, membership, stock, codes, sessions and settings is recorded in, once,
by the use case that makes it (``audit``).

Each takes typed commands (``OrderEventIn``, ``SessionDraft``, typed arguments) and a context
(one unit of work) or the root object, returns results, and raises :mod:`services.errors` when
it cannot be done. The web, the CLI, the console and the chat handlers translate their input
into these calls and the errors into their own words.

May import: ``bot.base``, ``models``, ``core`` — never aiohttp, ``handlers``, ``bot.runtime``,
``bot.web``, ``bot.console``, ``bot.cli`` or a transport's module."""

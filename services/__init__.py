"""The use cases (application services): order events, payouts, codes and entry applications,
friend requests, co-learning sessions and applications, catalog sync, settlement, reports,
outbox operations, what-if loading, room membership. Each takes typed commands and a
context (one unit of work), returns results, and raises :mod:`services.errors` when it cannot
be done. The web, the CLI, the console and the chat handlers translate their input into these
calls.

May import: ``bot.base``, ``models``, ``core`` — never aiohttp, ``handlers``, ``bot.runtime``,
``bot.web``, ``bot.console``, ``bot.cli`` or a transport's module."""

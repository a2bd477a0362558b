"""The pure rules of distbot: commission split, fan-lock attribution, the ledger's settlement
and refunds, entry, upgrades, withdrawals, group moderation (and finding a QR code in a
picture's pixels), and the config advisor. Plain data in, plain data out: no I/O,
no ORM, no asyncio. Time is always passed in as ``now``.

The order sequence lives here too (``order_sequence``): the one order of steps an order event
goes through — checks, own / ref / bound trial, attribution, lock, payable, book, climb,
stock; refunds checked cumulatively and clawed back — over a small repository port
(``OrderPort``, a Protocol). The live pipeline runs it over SQL (``services.order_store``),
what-if over dictionaries (``order_memory``, driven by ``whatif``). The sequence does no I/O
of its own: the port does.

May import: ``core`` and the standard library (no SQLAlchemy, aiohttp or asyncio) — nothing
else of ours."""

"""The pure rules of distbot: commission split, fan-lock attribution, the ledger's settlement
and refunds, entry, upgrades, withdrawals, group moderation (and finding a QR code in a
picture's pixels), and the config advisor. Plain data in, plain data out: no I/O,
no ORM, no asyncio. Time is always passed in as ``now``.

May import: ``core`` and the standard library (no SQLAlchemy, aiohttp or asyncio) — nothing
else of ours."""

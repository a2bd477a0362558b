"""The engines of a running process: the router and the dispatcher that hands each incoming
event to the first matching handler (``router``, ``dispatch``, answer limits in ``limits``,
the inbox spool kept through database outages in ``spool``), the pre-routing stage every event
passes first (``middleware``, with the event figures in ``metrics``), the outbox sender
(``sender``), the co-learning timer (``scheduler``) and what ``/healthz`` reports
(``health``).

**The pre-routing stage** (``bot.runtime.middleware``). Every event the transport delivers
passes the middlewares the composition root registers (``bot.app.middlewares``, in order:
the event figures, then the answer limits) before first-match routing. A middleware is
``async def mw(event, ctx, call_next) -> Outcome`` (the :class:`~bot.runtime.middleware.Middleware`
protocol); it sees:

- ``event``: a :class:`~bot.base.transport.Message` (``sender``, ``sender_name``, ``room`` —
  None in a private chat —, ``text``, ``kind`` — the message type, ``"text"`` or ``"image"`` as
  the transport tells them —, ``mentions``, ``mentions_self``), or a friend request, a join, a
  leave, an invitation;
- ``ctx`` (:class:`~bot.runtime.router.MessageContext`): ``ctx.text`` normalised for
  comparing, ``ctx.role`` (ops, the room's course manager, a distributor, a guest),
  ``ctx.distributor``, ``ctx.brand_of_room()``, ``ctx.transport`` and its capabilities, the
  unit of work (``ctx.session``, ``ctx.uow``: ``after_commit``, ``attached``, ``emit``), what
  the process keeps across events (``ctx.kept(Kind)``, one object per kind), the
  clock reading ``ctx.now``;
- sending goes through the context like a handler's: ``ctx.reply(template, data)`` (in a room,
  mentioning the sender; within the answer limits when registered after them) or
  ``bot.base.outbox.queue_text``/``queue_row`` for anything else (a private warning, an
  ops notice, a removal) — rows written with the unit of work, sent once it commits;
- ``return await call_next()`` passes the event on; ``return Outcome.STOPPED`` stops it (no
  router sees it; what the middleware wrote is still committed). Raising fails the event like a
  handler's error.

Group moderation (``moderation.Moderator``) goes after the answer limits
(``bot.app.middlewares``): it judges every brand-group message and stops an offence there.

May import: ``services``, ``bot.base``, ``models``, ``core`` — never ``handlers`` (the routers
and middlewares are handed in by the composition root), ``bot.web``, ``bot.console``,
``bot.cli`` or a transport's module."""

"""What every layer stands on: the configuration (``config``, ``yamlfile``), the clock and the
per-event context (``context``), the unit of work each context carries (``uow``: its outbox
rows, what it does before and after the commit, the events it emits), the root object a process
builds once and what it keeps across events (``env``: ``env.kept``, ``env.react``), the database
(``db``), the renderer of message texts (``render``), queueing into the outbox (``outbox``,
``priorities``), the transport interface (``transport``: events, errors), JSON without floats
(``jsonutil``), poster drawing (``poster``), fault classification (``faults``), start-up
problems (``startup``) and logging setup (``logs``).

May import: ``models``, ``core`` and libraries — never ``services``, ``handlers``, the other
``bot`` sub-packages, nor aiohttp (a web concern: ``bot.web``)."""

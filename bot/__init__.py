"""The shell around the pure core, in sub-packages by layer (highest first):

- ``bot.app`` — the composition root: builds the process's root object (``bot.base.env.Env``),
  the transport, the dispatcher, the sender, the scheduler and the web application, and runs
  them (``distbot run``);
- ``bot.cli`` (commands), ``bot.console`` (ops pages), ``bot.web`` (HTTP) — entry points;
- ``bot.runtime`` — the engines of a running process (router, dispatcher, sender, timer);
- ``bot.base`` — what every layer stands on (configuration, context, database, outbox…);
- ``bot.transports`` — the adapters to WeChat, imported by ``bot.app`` only.

Each may import only the layers below it (``services``, ``models`` and ``core`` among them: see
the README's Layout and the contracts in pyproject.toml). This module imports nothing."""

"""The ``distbot`` command (``main``) and its sub-commands: back-fill (``backfill``),
co-learning (``colearning``), console accounts (``users``), reports (``reports``), what-if
(``whatif_report``, ``whatif_chart``). Each command parses its arguments, builds the process
through ``bot.app`` and calls services; only the standard library is imported up front so
``distbot --help`` starts fast.

May import: everything below it (``bot.app``, ``bot.console``, ``bot.web``, ``services``,
``bot.base``, ``models``, ``core``) — but not ``handlers`` or a transport's module."""

from bot.cli.main import main

__all__ = ["main"]

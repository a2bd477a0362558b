"""``python -m bot.cli``: the ``distbot`` command without the installed script."""

from bot.cli.main import main

raise SystemExit(main())

"""One module per capability, each with a router. The order here is the order of matching:
the first handler whose filters pass wins; the fallback comes last."""

from bot.router import Router
from handlers import friends, membership, menu

ROUTERS: list[Router] = [
    membership.router,
    friends.router,
    menu.router,
    menu.fallback,  # last: what nothing else understood
]

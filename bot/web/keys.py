"""What a request finds on its application: the process's root object and its health."""

from __future__ import annotations

from aiohttp import web

from bot.base.context import Actor
from bot.base.env import Env
from bot.runtime.health import Health

ENV = web.AppKey("env", Env)


def api_actor(by: object = None) -> Actor:
    """Who the audit log names for an ops API call: the body's ``by`` (whoever the caller says
    they are, at most 64 characters), else ``api``. The token is ops' own."""
    name = by.strip()[:64] if isinstance(by, str) and by.strip() else "api"
    return Actor(name, "ops", "api")


HEALTH = web.AppKey("health", Health)

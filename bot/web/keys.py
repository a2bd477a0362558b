"""What a request finds on its application: the process's root object and its health."""

from __future__ import annotations

from aiohttp import web

from bot.base.env import Env
from bot.runtime.health import Health

ENV = web.AppKey("env", Env)
HEALTH = web.AppKey("health", Health)

"""What a request finds on its application: the process's root object and its health."""

from __future__ import annotations

from aiohttp import web

from bot.base.env import Services
from bot.runtime.health import Health

SERVICES = web.AppKey("services", Services)
HEALTH = web.AppKey("health", Health)

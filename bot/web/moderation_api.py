"""Ops API for group moderation:

- ``GET /api/moderation/cases?open=1`` — removals (and appeals), newest first; ``open=1``: those
  waiting for ops (removed, ops told, appealed);
- ``GET /api/moderation/strikes`` — strikes, newest first;
- ``POST /api/moderation/cases/{id}/undo`` ``{"note": "…", "by": "…"}`` — strikes cleared, the
  person invited back and told; ``…/uphold`` ``{"note": "…"}`` (required after an appeal: the
  person is told why); 409 when decided already;
- ``POST /api/moderation/strikes/{id}/clear`` ``{"by": "…"}``.
"""

from __future__ import annotations

from aiohttp import web

from bot.base.jsonutil import row_id
from bot.web.errors import json_object, reply
from bot.web.keys import ENV, api_actor
from services import moderation
from services.errors import NotFound

routes = web.RouteTableDef()
SHAPE = 'body must be a JSON object, e.g. {"note": "…", "by": "…"}'



@routes.get("/api/moderation/cases")
async def cases(request: web.Request) -> web.Response:
    env = request.app[ENV]
    async with env.db.reading() as session:
        rows = await moderation.cases(session, env.settings, open_only=request.query.get("open") == "1")
    return reply({"cases": rows})


@routes.get("/api/moderation/strikes")
async def strikes(request: web.Request) -> web.Response:
    env = request.app[ENV]
    async with env.db.reading() as session:
        rows = await moderation.strikes(session, env.settings)
    return reply({"strikes": rows})


@routes.post("/api/moderation/cases/{id}/{decision:undo|uphold}")
async def decide(request: web.Request) -> web.Response:
    case_id = row_id(request.match_info["id"])
    if case_id is None:
        raise NotFound("no such case")
    body = await json_object(request, SHAPE)
    note = str(body.get("note") or "")
    async with request.app[ENV].context(api_actor(body.get("by"))) as ctx:
        if request.match_info["decision"] == "undo":
            case = await moderation.undo(ctx, case_id, note)
        else:
            case = await moderation.uphold(ctx, case_id, note)
    return reply({"status": case.status, "id": case.id})


@routes.post("/api/moderation/strikes/{id}/clear")
async def clear(request: web.Request) -> web.Response:
    strike_id = row_id(request.match_info["id"])
    if strike_id is None:
        raise NotFound("no such strike")
    body = await json_object(request, SHAPE)
    async with request.app[ENV].context(api_actor(body.get("by"))) as ctx:
        strike = await moderation.clear_strike(ctx, strike_id)
    return reply({"status": "cleared", "id": strike.id})

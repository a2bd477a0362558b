"""The one place where what went wrong becomes an HTTP answer: a service's error
(:mod:`services.errors`) its status code and JSON body, a database outage 503, anything else a
logged 500 — never a stack trace.

Status codes by class: :class:`~services.errors.NotFound` 404, :class:`~services.errors.Invalid`
422, :class:`~services.errors.Conflict` and :class:`~services.errors.Refused` 409,
:class:`~services.errors.Duplicate` 200 (a replay is no failure to the caller),
:class:`~services.errors.Unavailable` 503.

The body names the outcome (``not_found``, ``duplicate``, ``unavailable``, else ``rejected``), then the error's
``code`` where it has one, its ``reason`` where it has one, every problem under ``errors`` for
bad input, and its ``details``:

- ``NotFound("no such message")`` → 404 ``{"status": "not_found", "reason": "no such message"}``
- ``Invalid(["amount: must be yuan"])`` → 422 ``{"status": "rejected", "errors": ["amount: must be yuan"]}``
- ``Refused("only 3 left …", code="out_of_stock")`` → 409 ``{"status": "rejected", "code": "out_of_stock",
  "reason": "only 3 left …"}``

Routes marked :func:`lists_problems` (the co-learning API) answer in the form they have always
had: every problem under ``errors`` whatever the class, and a conflict named ``conflict``.

A request that meets a database outage answers 503 with ``Retry-After`` (nothing was written)
and is not logged one by one: the outage is logged once when it starts and once when it ends
(``bot.base.faults``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from bot.base.faults import database_unavailable
from bot.base.jsonutil import body_problem, dumps, loads
from services.errors import Conflict, Duplicate, Invalid, NotFound, Refused, ServiceError, Unavailable

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

STATUS: dict[type[ServiceError], int] = {
    NotFound: 404, Invalid: 422, Conflict: 409, Refused: 409, Duplicate: 200, Unavailable: 503,
}  # fmt: skip
OUTCOME: dict[type[ServiceError], str] = {NotFound: "not_found", Duplicate: "duplicate", Unavailable: "unavailable"}
LISTED_OUTCOME: dict[type[ServiceError], str] = {NotFound: "not_found", Conflict: "conflict"}


def reply(data: Any, status: int = 200) -> web.Response:
    """JSON out, amounts as exact strings (``bot.base.jsonutil.dumps``)."""
    return web.json_response(data, status=status, dumps=dumps)


async def json_object(request: web.Request, shape: str) -> dict[str, Any]:
    """The request's JSON body as an object (an empty body is ``{}``); 422 otherwise: the
    decoder's problem, or ``shape``, which says what the body should look like."""
    try:
        body = loads(await request.read() or b"{}")
    except ValueError as error:
        raise Invalid([body_problem(error)]) from None
    if not isinstance(body, dict):
        raise Invalid([shape])
    return body


def _kind(error: ServiceError) -> type[ServiceError]:
    return next((kind for kind in type(error).__mro__ if kind in STATUS), ServiceError)


def status_of(error: ServiceError) -> int:
    """The HTTP status of ``error`` (409 for a plain ServiceError: the request was refused)."""
    return STATUS.get(_kind(error), 409)


def error_body(error: ServiceError, *, listed: bool = False) -> dict[str, Any]:
    kind = _kind(error)
    if listed:
        return {"status": LISTED_OUTCOME.get(kind, "rejected"), "errors": error.problems}
    body: dict[str, Any] = {"status": OUTCOME.get(kind, "rejected")}
    if error.code:
        body["code"] = error.code
    if error.reason:
        body["reason"] = error.reason
    if isinstance(error, Invalid):
        body["errors"] = error.problems
    body.update(error.details)
    return body


def error_response(error: ServiceError, *, listed: bool = False) -> web.Response:
    return reply(error_body(error, listed=listed), status_of(error))


def lists_problems(handler: H) -> H:
    """Mark a route whose errors list every problem (see the module's docstring)."""
    handler.lists_problems = True  # type: ignore[attr-defined]
    return handler


def _listed(request: web.Request) -> bool:
    return bool(getattr(request.match_info.handler, "lists_problems", False))


@web.middleware
async def error_boundary(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except ServiceError as error:
        return error_response(error, listed=_listed(request))
    except Exception as error:
        if database_unavailable(error):
            body = {"status": "unavailable", "reason": "the database cannot be reached; nothing was written, try again"}
            response = reply(body, 503)
            response.headers["Retry-After"] = "5"
            return response
        log.exception("unhandled error on %s %s", request.method, request.path)
        return reply({"status": "error", "reason": "internal error; it has been logged"}, 500)

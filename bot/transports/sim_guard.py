"""Who may drive the simulator over HTTP. ``/sim`` has no login (it is a demo of the bot on
the operator's own machine), so the one thing it must refuse is another web page acting
through the operator's browser — any page can ``fetch`` a ``text/plain`` POST to
127.0.0.1:8080 and, without these checks, set a course's stock as its manager.

- A POST must be ``Content-Type: application/json``: a browser sends that cross-site only
  after a CORS preflight, which the simulator never answers with a grant.
- A POST whose browser says where it comes from (``Origin``, ``Sec-Fetch-Site``) must
  come from the simulator's own origin.
- Served on a loopback socket, the ``Host`` must be a loopback name: a hostile domain
  re-pointed at 127.0.0.1 (DNS rebinding) is otherwise "same origin" with itself.

Scripts and tests (no browser, no ``Origin``) keep working with a JSON body. Listening
beyond loopback is refused at start unless asked for (``distbot run --allow-remote-sim``).
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """``host`` (a name or address, IPv6 with or without brackets) stays on this machine."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """``example.com:8080`` → ``example.com``; ``[::1]:8080`` → ``::1``."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def refusal(request: web.Request) -> str | None:
    """Why the request is refused, or None when it may act."""
    local = request.transport.get_extra_info("sockname") if request.transport else None
    on_loopback = isinstance(local, tuple) and bool(local) and is_loopback(str(local[0]))
    if on_loopback and not is_loopback(_host_name(request.host)):
        return f"the simulator answers only at a loopback address (127.0.0.1 or localhost), not {request.host!r}"
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None  # reading: another site's page cannot read the answers (no CORS grant)
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"the simulator takes no {site} requests: use its own page"
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return f"the simulator takes no requests from another site ({origin})"
    if request.content_type != "application/json":
        return "a POST to the simulator must be JSON (Content-Type: application/json)"
    return None

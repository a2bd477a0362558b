"""One module per capability; each registers a router. The routers are listed here
explicitly, first match wins."""

ROUTERS: list[object] = []

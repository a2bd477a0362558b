"""HTTP: the aiohttp application (``app.make_app``) with its error boundary, where service
errors become status codes (``errors``), the signed order webhook (``webhooks``), the ops APIs
(``ops_api``, ``ops_queue_api``, ``red_packets_api``, ``colearning_api``) and the health
endpoints (``health``). Each route translates a request into a service call and its result or
error into JSON.

May import: ``bot.runtime``, ``services``, ``bot.base``, ``models``, ``core`` — never
``handlers``, ``bot.console``, ``bot.cli`` or a transport's module (the composition root adds
the console's and the transport's routes)."""

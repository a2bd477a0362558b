"""HTTP: the aiohttp application (``app.make_app``) with its error boundary, the one place a
service's error becomes a status code and a JSON body (``errors``), the application's keys
(``keys``), the signed order webhook (``webhooks``), the ops APIs (``ops_api``,
``ops_queue_api``, ``red_packets_api``, ``colearning_api``) and the health endpoints
(``health``). Each route reads the request into a service's command, calls the service, and
answers with its result as JSON.

May import: ``bot.runtime``, ``services``, ``bot.base``, ``models``, ``core`` — never
``handlers``, ``bot.console``, ``bot.cli`` or a transport's module (the composition root adds
the console's and the transport's routes)."""

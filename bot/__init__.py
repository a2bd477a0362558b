"""The runtime around the pure core: configuration, command line, and (later) transports,
router, outbox, scheduler and web."""

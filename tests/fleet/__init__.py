"""Several `distbot run` processes on one PostgreSQL: leases, takeover, nothing lost or sent twice."""

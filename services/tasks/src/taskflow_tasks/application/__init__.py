"""Use cases: ports, command handlers and read-side queries. No frameworks, no I/O of its own."""

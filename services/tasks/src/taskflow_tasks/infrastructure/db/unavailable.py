"""The database errors that mean "unreachable for now", not "this request is wrong".

Measured in the chaos run's Postgres restart: a request meeting the server shutting down, still
starting up, refusing connections, or a pooled connection it had already closed. Each is an
answer to retry (503), never a 500.
"""

from __future__ import annotations

import asyncpg

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # 08xxx: connection lost or never made
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.ConnectionDoesNotExistError,
    # asyncpg's protocol state machine, on a connection the server dropped mid-operation.
    asyncpg.InternalClientError,
    OSError,  # refused, reset, timed out (TimeoutError is an OSError) while connecting
)

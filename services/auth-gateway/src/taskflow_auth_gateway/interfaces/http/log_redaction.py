"""Tokens never reach the logs: a filter for uvicorn's own WebSocket handshake lines."""

from __future__ import annotations

import logging

from taskflow_auth_gateway.interfaces.http.edge import redact_query


class RedactTokensFilter(logging.Filter):
    """uvicorn logs `"WebSocket /path?query"` with the raw query, which may hold
    `access_token=<jwt>`; rewrite such arguments before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, str) and "token=" in a for a in record.args
        ):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str) and "token=" in record.msg:
            record.msg = redact_query(record.msg)
        return True


def install_token_redaction() -> None:
    """Attach the filter to uvicorn's loggers (call once per process, before serving)."""
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokensFilter) for f in logger.filters):
            logger.addFilter(RedactTokensFilter())

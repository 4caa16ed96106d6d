"""JSON logs that carry the current trace and span ids, so logs and traces join up, and that
never carry a credential: every record passes one redaction filter on the way out."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

# Query parameters that carry credentials (the WebSocket handshake's `access_token`, an OAuth
# callback's `code`), at the start of a query string or after `?`/`&`, and bearer or basic
# credentials quoted from headers.
_SECRET_QUERY = re.compile(
    r"(?i)(^|[?&])(access_token|refresh_token|id_token|token|code|password|client_secret)=[^&\s\"']*"
)
_SECRET_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def redact_secrets(text: str) -> str:
    """The text with credential values replaced by REDACTED (names kept, for debugging)."""
    if "=" in text:
        text = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}{m.group(2)}=REDACTED", text)
    if " " in text:
        text = _SECRET_SCHEME.sub(lambda m: f"{m.group(1)} REDACTED", text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites each record's message before any formatter sees it. Attached to the handler,
    not to loggers: a handler filter sees every record that reaches it, whichever library
    logged it (uvicorn's access and WebSocket lines, Django's, Celery's, ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Formatted once here; the formatter's own getMessage() is then a plain read.
        record.msg, record.args = redact_secrets(record.getMessage()), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace ids, extras."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "service": self.service_name,
            "message": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service_name: str, level: str = "INFO", json_logs: bool = True) -> None:
    """Route the root logger to stderr, as JSON unless asked for plain text (local debugging),
    with credentials redacted from every record."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecretsFilter())
    if json_logs:
        handler.setFormatter(JsonFormatter(service_name))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Python's warnings (a library's DeprecationWarning, Celery's SecurityWarning as root)
    # become records too, instead of plain text on stderr between the JSON lines.
    logging.captureWarnings(True)

"""WebhookSender over HTTP(S): SSRF-checked, pinned to the checked address, one deadline each.

httpcore is used directly for its network-backend seam: the backend below connects only to the
addresses `resolve_checked` vetted (no second DNS answer, so no rebinding, for http and https
alike), while the URL keeps the host name, so the Host header, TLS SNI and the certificate check
are all on the name. The same backend bounds every connect, TLS handshake, write and read by
what is left of the attempt's total deadline: a receiver dripping a byte at a time cannot stretch
an attempt past it. The answer's body is read to at most `max_body_bytes`, then the connection is
closed: an endless body costs a few KiB.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx

from taskflow_notify.adapters.webhook_targets import (
    CheckedTarget,
    UnresolvableTargetError,
    refuse_reason,
    resolve_checked,
)
from taskflow_notify.ports import WebhookDeliveryError, WebhookRefusedError, WebhookResponse

__all__ = ["HttpWebhookSender", "refuse_reason", "resolve_checked"]

log = logging.getLogger(__name__)

_READ_CHUNK = 4096  # small reads: a capped body is never read far past its cap


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def bound(self, timeout: float | None, expired: type[Exception]) -> float:
        """The timeout for one I/O operation: at most what is left of the attempt."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise expired("the attempt's deadline passed")
        return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, attempt: _PinnedAttempt) -> None:
        self._inner = inner
        self._attempt = attempt

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bound = self._attempt.deadline.bound(timeout, httpcore.ReadTimeout)
        return self._inner.read(min(max_bytes, _READ_CHUNK), bound)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._attempt.deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self._attempt.phase = "tls"
        bound = self._attempt.deadline.bound(timeout, httpcore.ConnectTimeout)
        inner = self._inner.start_tls(ssl_context, server_hostname, bound)
        self._attempt.phase = "exchange"
        return _BoundedStream(inner, self._attempt)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedAttempt(httpcore.NetworkBackend):
    """The network for one attempt: only the checked addresses, all under one deadline."""

    def __init__(self, target: CheckedTarget, deadline: _Deadline) -> None:
        self.target = target
        self.deadline = deadline
        self.phase = "connect"
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        # The host name is deliberately not resolved again: only checked addresses are dialled.
        error: Exception = httpcore.ConnectError("no address to connect to")
        for address in self.target.addresses:
            bound = self.deadline.bound(timeout, httpcore.ConnectTimeout)
            try:
                stream = self._sockets.connect_tcp(
                    address, self.target.port, bound, local_address, socket_options
                )
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as exc:
                error = exc  # try the next checked address, as a resolver-driven dial would
                continue
            self.phase = "exchange"
            return _BoundedStream(stream, self)
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks never use unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _reason(exc: httpcore.TimeoutException | httpcore.NetworkError, phase: str) -> str:
    if isinstance(exc, httpcore.TimeoutException):
        return "timeout"
    if isinstance(exc, httpcore.ConnectError):
        return "tls_error" if phase == "tls" else "connect_failed"
    return "connection_lost"


def _read_capped(response: httpcore.Response, limit: int) -> None:
    """Read at most `limit` bytes of the body; the status already is the receiver's answer, so a
    slow or broken body after it does not fail the attempt."""
    received = 0
    try:
        for chunk in response.iter_stream():
            received += len(chunk)
            if received >= limit:
                return
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError):
        return


class HttpWebhookSender:
    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float = 5.0,
        max_body_bytes: int = 4096,
    ) -> None:
        self._allow_private = allow_private
        # The whole attempt (connect, TLS, request, answer) within this many seconds.
        self._timeout = timeout
        self._max_body_bytes = max_body_bytes
        # The system's CAs (or SSL_CERT_FILE's), verified against the URL's host name.
        self._ssl_context = httpx.create_ssl_context()

    def check_url(self, url: str) -> None:
        resolve_checked(url, allow_private=self._allow_private)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        deadline = _Deadline(self._timeout)
        try:
            target = resolve_checked(url, allow_private=self._allow_private)
        except UnresolvableTargetError as exc:
            raise WebhookDeliveryError("dns_failed") from exc
        request_url = _request_url(url, target)
        attempt = _PinnedAttempt(target, deadline)
        try:
            with (
                httpcore.ConnectionPool(
                    ssl_context=self._ssl_context, network_backend=attempt, max_connections=1
                ) as pool,
                pool.stream(
                    "POST",
                    request_url,
                    headers=[(k.encode(), v.encode()) for k, v in headers.items()],
                    content=body,
                ) as response,
            ):
                _read_capped(response, self._max_body_bytes)
                return WebhookResponse(status=response.status)
        except (httpcore.TimeoutException, httpcore.NetworkError) as exc:
            reason = _reason(exc, attempt.phase)
        except httpcore.ProtocolError as exc:
            reason = "protocol_error"
            log.info("webhook answer unusable", extra={"error": repr(exc)})
        # The full error stays in the operator's log; the owner sees only the code.
        log.info("webhook attempt failed", extra={"reason": reason, "phase": attempt.phase})
        raise WebhookDeliveryError(reason)


def _request_url(url: str, target: CheckedTarget) -> httpcore.URL:
    """The request's URL, from the one the checks parsed (a parser that disagreed on the host
    would only change the Host header and SNI, never where it connects, but is refused)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise WebhookRefusedError("the URL is not valid") from exc
    if parsed.host.lower().rstrip(".") != target.host.lower().rstrip("."):
        raise WebhookRefusedError("the URL's host is ambiguous")
    return httpcore.URL(
        scheme=parsed.raw_scheme, host=parsed.raw_host, port=target.port, target=parsed.raw_path
    )

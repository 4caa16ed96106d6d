"""WebhookSender over HTTP with SSRF protection: the resolved address is checked and pinned."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from taskflow_notify.ports import WebhookRefusedError, WebhookResponse

# Cloud metadata endpoints: refused even when private networks are allowed.
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def refuse_reason(address: str, *, allow_private: bool) -> str | None:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    if not allow_private and (ip.is_loopback or ip.is_private or not ip.is_global):
        return "a loopback or private address"
    return None


def resolve_checked(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, first allowed address), or WebhookRefusedError."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise WebhookRefusedError("the URL must be http or https")
    if not parts.hostname:
        raise WebhookRefusedError("the URL has no host")
    if parts.username or parts.password:
        raise WebhookRefusedError("credentials in the URL are not accepted")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookRefusedError("the URL's port is invalid") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefusedError(f"the host {parts.hostname!r} does not resolve") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    # Every address must be acceptable: a name resolving to one public and one private address
    # would otherwise be a way in.
    for address in addresses:
        reason = refuse_reason(address, allow_private=allow_private)
        if reason:
            raise WebhookRefusedError(f"the host {parts.hostname!r} resolves to {reason}")
    return parts.scheme, parts.hostname, port, addresses[0]


class HttpWebhookSender:
    def __init__(self, *, allow_private: bool, timeout: float = 5.0) -> None:
        self._allow_private = allow_private
        self._timeout = timeout

    def check_url(self, url: str) -> None:
        resolve_checked(url, allow_private=self._allow_private)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        scheme, _host, port, address = resolve_checked(url, allow_private=self._allow_private)
        parts = urlsplit(url)
        # Connect to the address that was checked (no second DNS answer can differ: no
        # rebinding); the Host header and TLS SNI keep the original name.
        # (https keeps the name for certificate checks; the address was checked just before.)
        target = url
        if scheme == "http":
            literal = f"[{address}]" if ":" in address else address
            target = parts._replace(netloc=f"{literal}:{port}").geturl()
        with httpx.Client(timeout=self._timeout, follow_redirects=False) as client:
            response = client.post(
                target,
                content=body,
                headers={**dict(headers), "Host": parts.netloc.rsplit("@", 1)[-1]},
            )
        return WebhookResponse(status=response.status_code)

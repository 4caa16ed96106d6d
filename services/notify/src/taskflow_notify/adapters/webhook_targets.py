"""Which addresses a webhook may reach: the SSRF checks, done once per attempt on one DNS answer.

Global unicast only (unless private networks are allowed for development), never cloud metadata
or link-local, and an IPv4 address embedded in an IPv6 one (mapped, NAT64, 6to4) is judged as
the IPv4 address it leads to. Teredo and local-use NAT64 are refused outright: where they lead
cannot be read off the address reliably.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from taskflow_notify.ports import WebhookRefusedError

# Cloud metadata endpoints: refused even when private networks are allowed.
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 target
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a site's own translators
_TEREDO = ipaddress.ip_network("2001::/32")


class UnresolvableTargetError(WebhookRefusedError):
    """The host has no address right now (refused at creation; retried at send time)."""


@dataclass(frozen=True)
class CheckedTarget:
    scheme: str
    host: str
    port: int
    # Every address the name resolved to, all of them checked: the only ones to connect to.
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    """The addresses a name has now, in the system's order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return ip.sixtofour


def refuse_reason(address: str, *, allow_private: bool) -> str | None:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _TEREDO or ip in _NAT64_LOCAL:
            return "a tunnelling or translation address"
        ip = _embedded_ipv4(ip) or ip
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    if not allow_private and (ip.is_loopback or ip.is_private or not ip.is_global):
        return "a loopback or private address"
    return None


def resolve_checked(url: str, *, allow_private: bool) -> CheckedTarget:
    """The URL's target with every address it resolves to checked, or WebhookRefusedError."""
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
        addresses = tuple(resolve(parts.hostname, port))
    except (OSError, UnicodeError) as exc:
        raise UnresolvableTargetError(f"the host {parts.hostname!r} does not resolve") from exc
    if not addresses:
        raise UnresolvableTargetError(f"the host {parts.hostname!r} does not resolve")
    # Every address must be acceptable: a name resolving to one public and one private address
    # would otherwise be a way in.
    for address in addresses:
        reason = refuse_reason(address, allow_private=allow_private)
        if reason:
            raise WebhookRefusedError(f"the host {parts.hostname!r} resolves to {reason}")
    return CheckedTarget(parts.scheme, parts.hostname, port, addresses)

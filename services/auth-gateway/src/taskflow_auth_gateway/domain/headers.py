"""Header hygiene at the edge: what is forwarded upstream, what is dropped, what is added.

Headers are ASGI-style lists of (lowercase name, value) byte pairs, so the proxy never builds
dictionaries per request.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterable, Sequence

Headers = list[tuple[bytes, bytes]]

# RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies also drop.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# Identity must come from the verified token only; a client that sends these is lying or
# probing for a service that trusts them. They are never forwarded.
IDENTITY_HEADERS = frozenset(
    {
        b"x-user-id",
        b"x-user",
        b"x-user-name",
        b"x-user-email",
        b"x-user-roles",
        b"x-username",
        b"x-email",
        b"x-roles",
        b"x-forwarded-user",
        b"x-forwarded-email",
        b"x-forwarded-groups",
        b"x-forwarded-preferred-username",
        b"x-forwarded-access-token",
        b"x-auth-request-user",
        b"x-auth-request-email",
        b"x-auth-user",
        b"x-remote-user",
        b"remote-user",
        b"x-principal",
        b"x-authenticated-user",
        b"x-authenticated-userid",
        b"x-consumer-id",
        b"x-consumer-username",
        b"x-client-verify",
        b"x-ssl-client-dn",
    }
)

# Headers the gateway sets itself; client values are replaced, not trusted. `Host` is kept
# as the client sent it (services build absolute URLs — Location, redirects — for the
# gateway's address, not their own), and repeated in X-Forwarded-Host.
GATEWAY_SET = frozenset(
    {
        b"x-request-id",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"forwarded",
        b"x-real-ip",
    }
)

_REQUEST_ID = re.compile(rb"[\x20-\x7e]{1,128}")
# What a trusted proxy may tell us the client's Host was: a host name or IP literal, a port.
_FORWARDED_HOST = re.compile(
    rb"[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?"
)
MAX_REQUEST_ID_LENGTH = 128


def valid_request_id(value: bytes | None) -> bool:
    """A client request id is kept when it is 1..128 printable ASCII characters."""
    return value is not None and _REQUEST_ID.fullmatch(value) is not None and bool(value.strip())


def new_request_id() -> bytes:
    # A correlation id, not a secret: the fast PRNG is enough (no syscall per request).
    return b"%032x" % random.getrandbits(128)


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The client's well-formed X-Request-ID, else a fresh one."""
    for name, value in headers:
        if name == b"x-request-id":
            return value if valid_request_id(value) else new_request_id()
    return new_request_id()


def connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1)."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


def upstream_request_headers(
    headers: Sequence[tuple[bytes, bytes]],
    *,
    request_id: bytes,
    client_ip: str,
    forwarded_for: bytes | None,
    scheme: str,
    host: bytes | None,
    extra: Iterable[tuple[bytes, bytes]] = (),
) -> Headers:
    """The client's headers minus hop-by-hop, identity and gateway-owned ones, plus ours."""
    dropped = connection_tokens(headers) if any(n == b"connection" for n, _ in headers) else ()
    out: Headers = [
        (name, value)
        for name, value in headers
        if name not in HOP_BY_HOP
        and name not in IDENTITY_HEADERS
        and name not in GATEWAY_SET
        and name not in dropped
    ]
    out.append((b"x-request-id", request_id))
    out.append((b"x-forwarded-for", forwarded_for or client_ip.encode()))
    out.append((b"x-forwarded-proto", scheme.encode()))
    if host:
        out.append((b"x-forwarded-host", host))
    out.extend(extra)
    return out


# Set by the gateway's own server on every response (a second Date would be a duplicate) or
# only telling the world what runs behind it.
SERVER_SET = frozenset({b"date", b"server", b"x-powered-by"})


def response_headers(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Upstream response headers minus hop-by-hop and server-owned ones (the gateway's server
    re-frames the body and stamps its own Date)."""
    headers = list(headers)
    dropped = connection_tokens(headers)
    return [
        (name, value)
        for name, value in headers
        if name not in HOP_BY_HOP and name not in SERVER_SET and name not in dropped
    ]


class TrustedProxies:
    """Decides the client IP: the peer, unless the peer is a trusted proxy (an ingress)."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self._networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def trusts(self, peer: str) -> bool:
        if not self._networks:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def client_ip_and_chain(
        self, peer: str, headers: Iterable[tuple[bytes, bytes]]
    ) -> tuple[str, bytes | None]:
        """(client ip, X-Forwarded-For to send upstream or None for just the client ip)."""
        if not self.trusts(peer):
            return peer, None
        chain = b", ".join(v for n, v in headers if n == b"x-forwarded-for")
        hops = [h.strip().decode("latin-1") for h in chain.split(b",") if h.strip()]
        # Walk right to left past our own trusted proxies: the first other hop is the client.
        client = peer
        for hop in reversed(hops):
            client = hop
            if not self.trusts(hop):
                break
        forwarded = (chain + b", " + peer.encode()) if chain else peer.encode()
        return client, forwarded

    def scheme_and_host(
        self, peer: str, headers: Iterable[tuple[bytes, bytes]], scheme: str
    ) -> tuple[str, bytes | None]:
        """(scheme, host) the client used: ours, unless a trusted proxy (TLS ended there) says.

        From anyone else X-Forwarded-Proto/-Host are ignored: a client must not make a service
        believe it came over TLS, or from another origin.
        """
        headers = list(headers)
        host = next((v for n, v in headers if n == b"host"), None)
        if not self.trusts(peer):
            return scheme, host
        # The nearest proxy's word counts: the last value when several were appended.
        proto = _last_value(headers, b"x-forwarded-proto").lower()
        if proto in (b"http", b"https"):
            scheme = proto.decode()
        forwarded_host = _last_value(headers, b"x-forwarded-host")
        if _FORWARDED_HOST.fullmatch(forwarded_host):
            host = forwarded_host
        return scheme, host


def _last_value(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes:
    values = [v for n, v in headers if n == name]
    return values[-1].rsplit(b",", 1)[-1].strip() if values else b""

from taskflow_auth_gateway.domain.headers import (
    TrustedProxies,
    request_id_from,
    response_headers,
    upstream_request_headers,
    valid_request_id,
)
from taskflow_auth_gateway.domain.routes import RouteTable, has_dot_segments


def forward(headers):
    return upstream_request_headers(
        headers,
        request_id=b"rid",
        client_ip="10.0.0.7",
        forwarded_for=None,
        scheme="http",
        host=b"api.example",
    )


def test_identity_headers_sent_by_a_client_never_reach_a_service():
    out = dict(
        forward(
            [
                (b"x-user-id", b"admin"),
                (b"x-forwarded-user", b"root"),
                (b"remote-user", b"x"),
                (b"authorization", b"Bearer t"),
            ]
        )
    )
    assert b"x-user-id" not in out
    assert b"x-forwarded-user" not in out
    assert b"remote-user" not in out
    assert out[b"authorization"] == b"Bearer t"


def test_hop_by_hop_headers_and_those_named_in_connection_are_dropped():
    out = dict(
        forward(
            [
                (b"connection", b"keep-alive, x-secret"),
                (b"x-secret", b"1"),
                (b"keep-alive", b"5"),
                (b"te", b"trailers"),
                (b"upgrade", b"h2c"),
                (b"transfer-encoding", b"chunked"),
                (b"accept", b"*/*"),
            ]
        )
    )
    assert set(out) == {
        b"accept",
        b"x-request-id",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
    }


def test_client_forwarding_headers_are_replaced_not_trusted():
    out = forward(
        [
            (b"x-forwarded-for", b"1.2.3.4"),
            (b"x-real-ip", b"1.2.3.4"),
            (b"x-request-id", b"spoof"),
            (b"host", b"api.example"),
        ]
    )
    assert (b"x-forwarded-for", b"10.0.0.7") in out
    assert (b"x-request-id", b"rid") in out
    assert [n for n, _ in out].count(b"x-request-id") == 1
    assert b"x-real-ip" not in dict(out)
    assert dict(out)[b"host"] == b"api.example"  # kept: services build URLs for the gateway


def test_a_well_formed_client_request_id_is_kept():
    assert request_id_from([(b"x-request-id", b"abc-123 ok")]) == b"abc-123 ok"
    assert request_id_from([(b"x-request-id", b"x" * 128)]) == b"x" * 128


def test_a_malformed_or_missing_request_id_is_replaced():
    for bad in (b"x" * 129, b"bad\x01id", b"", b"   ", "é".encode()):
        assert not valid_request_id(bad)
        generated = request_id_from([(b"x-request-id", bad)])
        assert generated != bad
        assert len(generated) == 32
    assert len(request_id_from([])) == 32


def test_response_hop_by_hop_headers_are_dropped():
    out = response_headers(
        [
            (b"connection", b"close"),
            (b"transfer-encoding", b"chunked"),
            (b"date", b"Thu, 26 Nov 2026 13:56:21 GMT"),
            (b"server", b"uvicorn"),
            (b"content-type", b"application/json"),
        ]
    )
    assert out == [(b"content-type", b"application/json")]


def test_forwarded_for_is_trusted_only_from_configured_proxies():
    untrusted = TrustedProxies()
    assert untrusted.client_ip_and_chain("10.0.0.9", [(b"x-forwarded-for", b"6.6.6.6")]) == (
        "10.0.0.9",
        None,
    )
    ingress = TrustedProxies(["10.0.0.0/8"])
    client, chain = ingress.client_ip_and_chain(
        "10.0.0.9", [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.5, 10.1.1.1")]
    )
    assert client == "203.0.113.5"
    assert chain == b"6.6.6.6, 203.0.113.5, 10.1.1.1, 10.0.0.9"


def test_routes_match_by_prefix_and_dot_segments_are_spotted():
    table = RouteTable()
    assert table.match("/api/v1/tasks/123").upstream == "tasks"
    assert table.match("/api/v1/admin/audit").upstream == "admin"
    assert table.match("/admin/login/").requires_token is False
    assert table.match("/ws/notifications").upstream == "notify"
    assert table.match("/api/v1/unknown") is None
    assert has_dot_segments("/api/v1/tasks/../admin")
    assert not has_dot_segments("/api/v1/tasks/a..b")


def test_only_a_trusted_proxy_says_which_scheme_and_host_the_client_used():
    headers = [
        (b"host", b"gateway.internal:8080"),
        (b"x-forwarded-proto", b"http, https"),
        (b"x-forwarded-host", b"taskflow.example"),
    ]
    trusted = TrustedProxies(["10.0.0.0/8"])

    assert trusted.scheme_and_host("10.1.2.3", headers, "http") == ("https", b"taskflow.example")
    assert trusted.scheme_and_host("192.0.2.9", headers, "http") == (
        "http",
        b"gateway.internal:8080",
    )


def test_a_trusted_proxy_cannot_inject_odd_schemes_or_hosts():
    headers = [
        (b"host", b"gateway.internal"),
        (b"x-forwarded-proto", b"javascript"),
        (b"x-forwarded-host", b"evil.example/path?x"),
    ]

    assert TrustedProxies(["10.0.0.0/8"]).scheme_and_host("10.1.2.3", headers, "https") == (
        "https",
        b"gateway.internal",
    )

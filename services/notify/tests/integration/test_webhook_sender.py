"""The webhook sender against real loopback receivers: one deadline per attempt, a capped body,
the connection pinned to the checked address (http and https), short reason codes."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
import trustme

from taskflow_notify.adapters.webhooks import HttpWebhookSender
from taskflow_notify.ports import WebhookDeliveryError

NAME = "hooks.example.test"
BODY = b'{"type": "test"}'
HEADERS = {"Content-Type": "application/json"}


def _post_in_thread(sender: HttpWebhookSender, url: str) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def send() -> None:
        try:
            outcome.append(sender.post(url, BODY, HEADERS))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread, outcome


def _tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str = NAME) -> ssl.SSLContext:
    """A server context with a certificate for `name` from a test CA the sender trusts."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # read when the sender is built
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(server)
    return server


def _resolve_name_to(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """NAME resolves to answers[0] the first time, then answers[1] (a rebinding DNS server)."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return real(host, port, *args, **kwargs)
        lookups.append(answers[min(len(lookups), len(answers) - 1)])
        return real(lookups[-1], port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_dripping_receiver_is_cut_off_at_the_attempt_s_deadline(
    scheme: str, receiver: Any, rx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a receiver that answers a byte a second (each read alone is well within a timeout)
    tls = _tls(tmp_path, monkeypatch, "127.0.0.1") if scheme == "https" else None
    slow = receiver(rx.drip, tls=tls)
    # when a sender with a 2 s deadline posts to it
    thread, outcome = _post_in_thread(HttpWebhookSender(allow_private=True, timeout=2), slow.url())
    thread.join(20)
    # then the attempt ended (far sooner than the drip would), as a timeout
    assert not thread.is_alive(), "the sender was still reading the dripping answer after 20 s"
    assert isinstance(outcome[0], WebhookDeliveryError)
    assert outcome[0].reason == "timeout"


def test_an_endless_body_is_read_to_a_few_kib_then_the_connection_is_closed(
    receiver: Any, rx: Any
) -> None:
    endless = receiver(rx.endless)
    thread, outcome = _post_in_thread(HttpWebhookSender(allow_private=True), endless.url())
    thread.join(60)
    assert not thread.is_alive()
    assert outcome[0].status == 200  # the status is the receiver's answer
    # Kernel socket buffers take a few MiB after the sender hangs up; reading it all is 256 MiB.
    assert endless.sent < 16 * 1024 * 1024, f"the sender read {endless.sent} bytes"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_rebinding_name_is_connected_to_at_the_address_that_was_checked(
    scheme: str, receiver: Any, rx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a name whose first answer is the receiver and every later one an inside address
    tls = _tls(tmp_path, monkeypatch) if scheme == "https" else None
    vetted = receiver(rx.status(204), host="127.0.0.1", tls=tls)
    inside = receiver(rx.status(204), host="127.0.0.2", port=vetted.port, tls=tls)
    lookups = _resolve_name_to(monkeypatch, "127.0.0.1", "127.0.0.2")
    # when the sender posts to the name
    response = HttpWebhookSender(allow_private=True).post(vetted.url(NAME), BODY, HEADERS)
    # then it connected to the checked address, with the name in Host (and SNI and the
    # certificate check: the certificate is for the name only)
    assert response.status == 204
    assert inside.requests == []
    assert len(vetted.requests) == 1
    assert f"host: {NAME}:{vetted.port}\r\n".encode() in vetted.requests[0].lower()
    assert vetted.requests[0].endswith(BODY)
    assert lookups == ["127.0.0.1"]


def test_a_certificate_for_another_name_is_a_tls_error_with_nothing_sent(
    receiver: Any, rx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = receiver(rx.status(200), tls=_tls(tmp_path, monkeypatch, "other.example.test"))
    _resolve_name_to(monkeypatch, "127.0.0.1")
    with pytest.raises(WebhookDeliveryError) as failed:
        HttpWebhookSender(allow_private=True).post(impostor.url(NAME), BODY, HEADERS)
    assert failed.value.reason == "tls_error"
    assert str(failed.value) == "tls_error"  # no certificate or socket detail for the owner
    assert impostor.requests == []


def test_a_closed_port_is_connect_failed_and_an_unknown_name_dns_failed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    sender = HttpWebhookSender(allow_private=True)
    with pytest.raises(WebhookDeliveryError) as refused:
        sender.post(f"http://127.0.0.1:{port}/hook", BODY, HEADERS)
    assert refused.value.reason == "connect_failed"
    with pytest.raises(WebhookDeliveryError) as unknown:
        sender.post("http://no-such-host.invalid/hook", BODY, HEADERS)
    assert unknown.value.reason == "dns_failed"

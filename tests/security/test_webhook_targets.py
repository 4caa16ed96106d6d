"""Webhook targets an attacker would aim at the inside: refused when the webhook is created
(loopback, private ranges, link-local and metadata, NAT64 and other non-global ranges, odd
spellings of them, names that resolve to them), never reached through a redirect, and a hostile
receiver (one that drips, one that never stops) cannot hold a delivery.

Notify in the distributed suite refuses every non-global target, so the receivers below (which
can only listen on loopback here) are driven through notify's sender itself, with private
targets allowed: what is tested is what the sender does with the answer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from taskflow_notify.adapters.webhooks import HttpWebhookSender

SECRET = "s" * 24
INSIDE = [
    "http://127.0.0.1:8003/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://0.0.0.0:8080/",
    "http://[::1]:8003/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd00:ec2::254]/",
    "http://[64:ff9b::7f00:1]/",  # 127.0.0.1 through a NAT64 gateway
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://localhost:8003/",
    "https://localhost/",
    "http://localhost./",
    "http://LOCALHOST/",
    f"http://{socket.gethostname()}/",
    "ftp://127.0.0.1/",
    "file:///etc/passwd",
    "http://user:pw@127.0.0.1/",
]


def _create(gateway: str, caller, url: str) -> httpx.Response:
    return httpx.post(
        f"{gateway}/api/v1/webhooks",
        headers=caller.headers,
        json={"url": url, "events": ["*"], "secret": SECRET},
        timeout=30,
    )


def test_inside_targets_are_refused_when_the_webhook_is_created(gateway, alice):
    accepted = {}
    for url in INSIDE:
        response = _create(gateway, alice, url)
        if response.status_code != 422:
            accepted[url] = f"{response.status_code} {response.text[:120]}"
        else:
            assert response.headers["content-type"].startswith("application/problem+json")
    listed = httpx.get(f"{gateway}/api/v1/webhooks", headers=alice.headers, timeout=30)
    assert accepted == {}
    assert listed.json()["data"] == []


# --- hostile receivers, driven through notify's sender ----------------------------------------


class Receiver:
    """A one-connection-at-a-time TCP server on loopback whose answer is a generator of bytes."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.hits = 0
        self.sent = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.5)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.hits += 1
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    for chunk in self.answer(self):
                        if self._stop.is_set():
                            break
                        conn.sendall(chunk)
                        self.sent += len(chunk)
                except OSError:
                    pass  # the sender hung up: what a capped reader does

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._sock.close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.close()


def _deliver(url: str) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def send() -> None:
        sender = HttpWebhookSender(allow_private=True)
        try:
            outcome.append(
                sender.post(url, b'{"kind": "test"}', {"content-type": "application/json"})
            )
        except Exception as exc:  # a refused or timed-out delivery is an acceptable outcome
            outcome.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread, outcome


def test_a_redirect_to_the_inside_is_not_followed(receivers):
    inside = Receiver(lambda r: iter([b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]))
    receivers.append(inside)
    for location in (inside.url, "http://169.254.169.254/latest/meta-data/"):
        redirect = Receiver(
            lambda r, loc=location: iter(
                [f"HTTP/1.1 302 Found\r\nlocation: {loc}\r\ncontent-length: 0\r\n\r\n".encode()]
            )
        )
        receivers.append(redirect)
        thread, _ = _deliver(redirect.url)
        thread.join(30)
        assert not thread.is_alive()
        assert redirect.hits == 1
    assert inside.hits == 0


def _drip(receiver: Receiver) -> Iterator[bytes]:
    # A status line one byte a second, for up to 90 s: every read gets data before its timeout.
    for byte in b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 200:
        yield bytes([byte])
        time.sleep(1)


def _endless(receiver: Receiver) -> Iterator[bytes]:
    yield b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n"
    chunk = b"x" * 65536
    while receiver.sent < 64 * 1024 * 1024:  # safety stop for a sender that reads it all
        yield chunk


def test_a_dripping_receiver_cannot_hold_a_delivery(receivers):
    slow = Receiver(_drip)
    receivers.append(slow)
    thread, _ = _deliver(slow.url)
    # The sender's own deadline is a few seconds; 20 s is far beyond any honest bound.
    thread.join(20)
    assert not thread.is_alive(), "the delivery was still reading the dripping answer after 20 s"


def test_an_endless_receiver_cannot_fill_the_worker_s_memory(receivers):
    endless = Receiver(_endless)
    receivers.append(endless)
    thread, _ = _deliver(endless.url)
    thread.join(60)
    assert not thread.is_alive()
    # Kernel socket buffers absorb a few MiB after the sender hangs up; a reader that reads
    # the whole body takes all 64 MiB.
    assert endless.sent < 16 * 1024 * 1024, f"the sender read {endless.sent} bytes"

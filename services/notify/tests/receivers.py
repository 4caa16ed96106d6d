"""Loopback webhook receivers with real sockets: honest, dripping, endless, holding, TLS.

Each serves every connection in a thread of its own; `answer(receiver)` yields the bytes to send
back once the request has been read. `requests` keeps what arrived (head and body).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

Answer = Callable[["Receiver"], Iterator[bytes]]


class Receiver:
    def __init__(
        self,
        answer: Answer,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.answer = answer
        self.host = host
        self.requests: list[bytes] = []
        self.received = threading.Event()  # set once a whole request has arrived
        self.sent = 0
        self._tls = tls
        self._sock = socket.create_server((host, port))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, host: str | None = None, path: str = "/hook") -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle_and_close, args=(conn,), daemon=True).start()

    def _handle_and_close(self, conn: socket.socket) -> None:
        try:
            self._handle(conn)
        except (OSError, ssl.SSLError):
            pass  # the sender hung up: what a capped or deadline-bound sender does
        finally:
            conn.close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        if self._tls is not None:
            conn = self._tls.wrap_socket(conn, server_side=True)
        self.requests.append(_read_request(conn))
        self.received.set()
        for chunk in self.answer(self):
            if self._stop.is_set():
                return
            conn.sendall(chunk)
            self.sent += len(chunk)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._sock.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def status(code: int) -> Answer:
    def answer(receiver: Receiver) -> Iterator[bytes]:
        yield f"HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode()

    return answer


def drip(receiver: Receiver) -> Iterator[bytes]:
    """The status line a byte a second: every single read gets data well before a timeout."""
    for byte in b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 600:
        yield bytes([byte])
        for _ in range(10):
            if receiver.stopped:
                return
            time.sleep(0.1)


def endless(receiver: Receiver) -> Iterator[bytes]:
    """A 200 whose body never ends (stopped at 256 MiB for a sender that reads it all)."""
    yield b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n"
    chunk = b"x" * 65536
    while receiver.sent < 256 * 1024 * 1024:
        yield chunk


def hold(receiver: Receiver) -> Iterator[bytes]:
    """Read the request, then answer nothing until closed (a send that is provably mid-flight)."""
    while not receiver.stopped:
        time.sleep(0.1)
    yield from ()


def wait_until(predicate: Callable[[], object], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())

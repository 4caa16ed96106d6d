"""SIGKILL the Celery worker while it is sending an email: the email still arrives once.

A loopback SMTP relay in front of Mailpit holds back the end of the first message (the final
"."), so the worker is provably in the middle of the send when it is killed. The relay then
drops that connection (Mailpit discards the unfinished message) and relays everything after.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import current_app

from taskflow_common.testing import KeycloakRealm
from taskflow_notify import services, tasks
from taskflow_notify.models import Delivery

END_OF_DATA = b"\r\n.\r\n"


class HoldingSmtpRelay:
    """Relays SMTP to Mailpit; the first message's end-of-data is withheld (`held` is set)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.held = threading.Event()
        self._hold_next = True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            hold, self._hold_next = self._hold_next, False
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            threading.Thread(
                target=self._client_to_upstream, args=(client, upstream, hold), daemon=True
            ).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for s in (source, sink):
            s.close()

    def _client_to_upstream(
        self, client: socket.socket, upstream: socket.socket, hold: bool
    ) -> None:
        in_data, pending = False, b""
        try:
            while chunk := client.recv(65536):
                if not hold:
                    upstream.sendall(chunk)
                    continue
                if not in_data:
                    upstream.sendall(chunk)
                    in_data = chunk.upper().startswith(b"DATA")
                    continue
                pending += chunk
                if pending.endswith(END_OF_DATA):
                    upstream.sendall(pending[: -len(END_OF_DATA)])
                    self.held.set()  # the worker now waits for the server's 250: mid-send
                    pending = b""
        except OSError:
            pass
        # The client is gone (killed): abandon the upstream session without finishing DATA.
        for s in (client, upstream):
            s.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def holding_relay(notify_mailpit: Any) -> Iterator[HoldingSmtpRelay]:
    relay = HoldingSmtpRelay(("127.0.0.1", 1025))
    yield relay
    relay.close()


def _start_worker(
    session_env: dict[str, str], queue: str, smtp_port: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **session_env,
        "TASKFLOW_CELERY_QUEUE": queue,
        "TASKFLOW_SMTP_PORT": str(smtp_port),
        "TASKFLOW_SMTP_TIMEOUT_SECONDS": "60",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "taskflow_notify", "worker", "--concurrency=1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(worker: subprocess.Popen[bytes], sig: int) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        worker.wait(timeout=30)


def test_email_arrives_exactly_once_when_the_worker_is_killed_mid_send(
    notify_django: Any,
    notify_session_env: dict[str, str],
    notify_mailpit: Any,
    holding_relay: HoldingSmtpRelay,
    nh: Any,
    tmp_path: Path,
) -> None:
    user = KeycloakRealm().create_user("killed")
    queue = f"taskflow.notify.deliveries.kill-{secrets.token_hex(4)}"
    title = f"Survives a SIGKILL {secrets.token_hex(3)}"
    event = nh.task_assigned(nh.new_user_id(), user.id, title=title)
    services.event_ingest(
        envelope=event,
        enqueue=lambda channel, delivery_id: (
            tasks.send_email.apply_async([delivery_id], queue=queue) if channel == "email" else None
        ),
    )
    log = tmp_path / "worker.log"
    first = _start_worker(notify_session_env, queue, holding_relay.port, log)
    second = None
    try:
        assert holding_relay.held.wait(60), (
            "worker never reached the end of DATA:\n" + (log.read_text()[-3000:])
        )
        _stop(first, signal.SIGKILL)
        row = Delivery.objects.get(notification__event_id=event.event_id, channel="email")
        assert row.status == "pending"  # the killed attempt's transaction rolled back
        assert notify_mailpit.messages_to(user.email) == []

        second = _start_worker(notify_session_env, queue, holding_relay.port, log)
        found = nh.wait_for(lambda: notify_mailpit.messages_to(user.email), 60)
        assert found, "the redelivered task did not send:\n" + log.read_text()[-3000:]
        assert nh.wait_for(lambda: Delivery.objects.get(pk=row.pk).status == "sent", 15)
        time.sleep(1.5)  # a second copy would show up now
        found = notify_mailpit.messages_to(user.email)
    finally:
        _stop(first, signal.SIGKILL)
        if second is not None:
            _stop(second, signal.SIGTERM)
        with current_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)

    assert len(found) == 1
    assert found[0]["Subject"] == f'[TaskFlow] "{title}" was assigned to you'

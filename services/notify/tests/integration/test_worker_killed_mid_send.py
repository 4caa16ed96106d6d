"""SIGKILL the Celery worker while it is sending: the email still arrives once, and a delivery
whose workers keep dying is not tried beyond its maximum.

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
from taskflow_notify import celery_tasks, services
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
    session_env: dict[str, str], queue: str, log: Path, settings: dict[str, str]
) -> subprocess.Popen[bytes]:
    env = {**os.environ, **session_env, "TASKFLOW_CELERY_QUEUE": queue, **settings}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "taskflow_notify", "worker", "--concurrency=1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _email_worker(
    session_env: dict[str, str], queue: str, smtp_port: int, log: Path
) -> subprocess.Popen[bytes]:
    settings = {
        "TASKFLOW_SMTP_PORT": str(smtp_port),
        "TASKFLOW_SMTP_TIMEOUT_SECONDS": "60",
        # The killed worker's lease is what the second one waits out before it sends again.
        "TASKFLOW_DELIVERY_LEASE_SECONDS": "8",
    }
    return _start_worker(session_env, queue, log, settings)


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
            celery_tasks.send_email.apply_async([delivery_id], queue=queue)
            if channel == "email"
            else None
        ),
    )
    log = tmp_path / "worker.log"
    first = _email_worker(notify_session_env, queue, holding_relay.port, log)
    second = None
    try:
        assert holding_relay.held.wait(60), (
            "worker never reached the end of DATA:\n" + (log.read_text()[-3000:])
        )
        _stop(first, signal.SIGKILL)
        row = Delivery.objects.get(notification__event_id=event.event_id, channel="email")
        # The killed attempt stays counted (claimed before the send); nothing was sent.
        assert (row.status, row.attempts) == ("pending", 1)
        assert notify_mailpit.messages_to(user.email) == []

        second = _email_worker(notify_session_env, queue, holding_relay.port, log)
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


def test_a_webhook_whose_workers_are_killed_mid_send_is_not_tried_beyond_its_maximum(
    notify_django: Any,
    notify_session_env: dict[str, str],
    receiver: Any,
    rx: Any,
    nh: Any,
    tmp_path: Path,
) -> None:
    # given a receiver that takes the request and never answers, and at most 3 attempts
    held = receiver(rx.hold)
    user = nh.new_user_id()
    webhook = services.webhook_create(
        user_id=user,
        url=held.url(),
        events=["*"],
        secret="s" * 32,
        sender=notify_django.webhooks,
        max_per_user=20,
    )
    queue = f"taskflow.notify.deliveries.kill-{secrets.token_hex(4)}"
    services.event_ingest(
        envelope=nh.task_assigned(nh.new_user_id(), user),
        enqueue=lambda channel, delivery_id: (
            celery_tasks.send_webhook.apply_async([delivery_id], queue=queue)
            if channel == "webhook"
            else None
        ),
    )
    row = Delivery.objects.get(webhook=webhook)
    settings = {"TASKFLOW_DELIVERY_MAX_ATTEMPTS": "3", "TASKFLOW_DELIVERY_LEASE_SECONDS": "6"}
    log = tmp_path / "worker.log"
    worker = None
    try:
        # when every worker is SIGKILLed while its attempt waits for the answer (the task is
        # redelivered each time: acks_late)
        for attempt in (1, 2, 3):
            worker = _start_worker(notify_session_env, queue, log, settings)
            assert nh.wait_for(lambda n=attempt: len(held.requests) >= n, 60), (
                f"attempt {attempt} never reached the receiver:\n" + log.read_text()[-3000:]
            )
            _stop(worker, signal.SIGKILL)
        # then the next worker gives the delivery up instead of sending it a fourth time
        worker = _start_worker(notify_session_env, queue, log, settings)
        assert nh.wait_for(lambda: Delivery.objects.get(pk=row.pk).status == "failed", 60), (
            "the delivery was not given up:\n" + log.read_text()[-3000:]
        )
        time.sleep(1.0)  # a fourth request would arrive now
    finally:
        if worker is not None:
            _stop(worker, signal.SIGKILL)
        with current_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
    row.refresh_from_db()
    assert len(held.requests) == 3
    assert (row.attempts, row.last_error) == (3, "attempts_exhausted")

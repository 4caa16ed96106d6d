"""The SDK against the distributed suite, as a real Keycloak user, through the gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from taskflow_common.testing.keycloak import KeycloakRealm, TestUser
from taskflow_common.testing.suite import require_suite
from taskflow_sdk import (
    AsyncTaskFlow,
    AuthenticationError,
    NotFoundError,
    PreconditionFailedError,
    TaskChanged,
    TaskFlow,
)

from ..conftest import committed_openapi  # type: ignore[import-not-found]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gateway() -> str:
    return require_suite()


@pytest.fixture(scope="module")
def user() -> TestUser:
    return KeycloakRealm().create_user("sdk")


@pytest.fixture
def tf(gateway: str, user: TestUser) -> Iterator[TaskFlow]:
    with TaskFlow(gateway) as client:
        client.login(user.username, user.password)
        yield client


def test_the_committed_openapi_is_what_the_gateway_serves(gateway: str) -> None:
    served = httpx.get(f"{gateway}/openapi.json", timeout=30).json()

    assert served == committed_openapi(), (
        "the gateway's /openapi.json changed: run "
        "`uv run python scripts/sdk_models.py --refresh http://127.0.0.1:8080` and commit "
        "clients/python/openapi.json and taskflow_sdk/models.py"
    )


def test_login_and_who_am_i(tf: TaskFlow, user: TestUser) -> None:
    assert tf.me().username == user.username


def test_a_wrong_password_is_an_authentication_error(gateway: str, user: TestUser) -> None:
    with TaskFlow(gateway) as client, pytest.raises(AuthenticationError):
        client.login(user.username, "not-the-password")


def test_the_same_idempotency_key_creates_one_task(tf: TaskFlow) -> None:
    key = f"sdk-{uuid.uuid4()}"

    first = tf.tasks.create(title="Only once", idempotency_key=key)
    again = tf.tasks.create(title="Only once", idempotency_key=key)

    assert again.id == first.id


def test_an_update_from_a_stale_read_is_a_conflict(tf: TaskFlow) -> None:
    created = tf.tasks.create(title="Contended")
    read = tf.tasks.get(str(created.id))
    tf.tasks.update(read, title="Changed elsewhere")

    with pytest.raises(PreconditionFailedError) as conflict:
        tf.tasks.update(read, title="From the stale read")

    assert conflict.value.status == 412
    assert tf.tasks.get(str(created.id)).title == "Changed elsewhere"


def test_iterating_pages_yields_every_task_once(tf: TaskFlow) -> None:
    label = f"page-{uuid.uuid4().hex[:8]}"
    made = {str(tf.tasks.create(title=f"paged {n}", labels=[label]).id) for n in range(5)}

    seen = [str(t.id) for t in tf.tasks.iter(label=[label], limit=2)]

    assert sorted(seen) == sorted(made)


def test_delete_restore_and_not_found(tf: TaskFlow) -> None:
    task = tf.tasks.get(str(tf.tasks.create(title="Short-lived").id))
    tf.tasks.delete(task)
    assert tf.tasks.restore(str(task.id)).deleted_at is None

    with pytest.raises(NotFoundError):
        tf.tasks.get(str(uuid.uuid4()))


async def test_the_live_stream_resumes_after_a_drop_without_loss(
    gateway: str, user: TestUser
) -> None:
    async with AsyncTaskFlow(gateway) as tf:
        await tf.login(user.username, user.password)
        stream = tf.live()
        titles = [f"live-{n}-{uuid.uuid4().hex[:6]}" for n in range(4)]
        received: list[str] = []
        first_seen = asyncio.Event()

        async def changes_elsewhere() -> None:
            async with AsyncTaskFlow(gateway) as other:
                await other.login(user.username, user.password)
                await other.tasks.create(title=titles[0])
                await first_seen.wait()
                await stream.drop()
                for title in titles[1:]:  # made while the stream is down
                    await other.tasks.create(title=title)

        writer = asyncio.create_task(changes_elsewhere())
        async with asyncio.timeout(60):
            async for frame in stream:
                if isinstance(frame, TaskChanged) and frame.change == "created":
                    received.append(str(frame.task.get("title")))
                    first_seen.set()
                    if set(titles) <= set(received):
                        break
        await writer

    assert [t for t in received if t in titles] == titles

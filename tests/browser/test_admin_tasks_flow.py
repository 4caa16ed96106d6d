"""An administrator's working session in a real browser, end to end on the real services.

Sign in on Keycloak's login page, open the tasks changelist, filter the overdue tasks, run the
bulk "set priority": the change is in the task API (the owner sees it), in the audit log (the
admin API), and on RabbitMQ as `tasks.task.updated.v1`, one per task. Screenshots of the
dashboard and of the changelist are saved under .artifacts/browser/.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aio_pika
import httpx
import pytest
from playwright.sync_api import Page, expect

from taskflow_common.messaging.amqp import EXCHANGE
from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.browser import tasks_overdue_in_a_moment, wait_until_overdue
from taskflow_common.testing.stack import AMQP_URL

from .test_admin_sign_in import sign_in_on_keycloak  # type: ignore[import-not-found]

Screenshot = Callable[[Page, str], Path]


def re_overdue_filter(gateway: str, marker: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(gateway)}/admin/tasks/\?q={marker}&.*overdue=true")


UPDATED = "tasks.task.updated.v1"


def _in_a_thread(coroutine_function: Callable[..., object], *args: object) -> object:
    """aio-pika beside Playwright's sync API, which owns this thread's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine_function(*args)).result()  # type: ignore[arg-type]


async def _bind_queue(name: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(name, durable=False, auto_delete=False)
        await queue.bind(exchange, routing_key=UPDATED)


async def _updated_events(name: str, wanted: set[str]) -> dict[str, dict]:
    """The queue's tasks.task.updated.v1 envelopes for the wanted tasks (waits up to 30 s)."""
    found: dict[str, dict] = {}
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(name)
        deadline = asyncio.get_running_loop().time() + 30
        while not wanted <= set(found):
            assert asyncio.get_running_loop().time() < deadline, f"only {set(found)} arrived"
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.2)
                continue
            envelope = json.loads(message.body)
            task = envelope["data"]["task"]
            if task["id"] in wanted and task["priority"] == "urgent":
                found[task["id"]] = envelope
    return found


async def _delete_queue(name: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


@pytest.fixture
def event_queue() -> Iterator[str]:
    name = f"taskflow.browser-admin-{secrets.token_hex(4)}"
    _in_a_thread(_bind_queue, name)
    yield name
    _in_a_thread(_delete_queue, name)  # also when the test failed before reading it


def test_an_administrator_filters_overdue_tasks_and_sets_their_priority_in_bulk(
    page: Page,
    gateway: str,
    realm: KeycloakRealm,
    screenshot: Screenshot,
    event_queue: str,
) -> None:
    admin = realm.create_user("admin", roles=("user", "admin"))
    owner = realm.create_user("owner")
    api = httpx.Client(
        base_url=gateway,
        timeout=30,
        headers={"authorization": f"Bearer {realm.access_token(owner)}"},
    )
    tasks = tasks_overdue_in_a_moment(api)
    marker, created, overdue = tasks.marker, tasks.created, tasks.overdue

    page.goto(f"{gateway}/admin/")
    sign_in_on_keycloak(page, admin)
    wait_until_overdue(tasks)
    expect(page).to_have_url(f"{gateway}/admin/")
    screenshot(page, "admin-dashboard")

    page.goto(f"{gateway}/admin/tasks/")
    page.fill("#searchbar", marker)
    page.check("input[name=overdue]")
    page.click("#changelist-search input[type=submit]")
    expect(page).to_have_url(re_overdue_filter(gateway, marker))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#result_list")).not_to_contain_text("print the badges")
    screenshot(page, "admin-tasks-overdue")

    page.check("#result_list thead input[type=checkbox]")  # select all on the page
    page.select_option("#changelist-form select[name=action]", "set_priority")
    page.select_option("#changelist-form select[name=priority]", "urgent")
    page.click("#changelist-form button[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Set priority: 2 task(s) changed.")
    expect(page.locator("#result_list tbody")).to_contain_text("urgent")
    screenshot(page, "admin-tasks-bulk-priority")

    # The owner's API sees what the administrator did; the task that is not overdue is as it was.
    for task in created.values():
        now_reads = api.get(f"/api/v1/tasks/{task['id']}").json()
        assert now_reads["priority"] == ("urgent" if task["id"] in overdue else task["priority"])

    # One event per changed task, through the same domain code as the user API's.
    events = _in_a_thread(_updated_events, event_queue, overdue)
    assert isinstance(events, dict)
    assert set(events) == overdue

    # The audit log names the administrator, the action and the tasks.
    admin_api = {"authorization": f"Bearer {realm.access_token(admin)}"}
    entries = httpx.get(
        f"{gateway}/api/v1/admin/audit",
        params={"action": "task.bulk.set_priority", "actor_id": admin.id},
        headers=admin_api,
        timeout=30,
    )
    assert entries.status_code == 200, entries.text
    (entry,) = entries.json()["data"]
    assert entry["actor"]["username"] == admin.username
    assert entry["after"] == {"action": "set_priority", "priority": "urgent"}
    assert set(entry["detail"]["ids"]) == overdue
    api.close()

"""The embedded composition: the relay and the scheduler run in the app's lifespan and publish
through the in-process bus the embedded root hands over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from taskflow_common.messaging import InProcessEventBus


async def _wait_for(predicate, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_events_flow_through_the_in_process_bus(
    tasks_pg_url, tasks_jwks, tasks_settings_for, users_for
):
    bus = InProcessEventBus()
    await bus.start()
    received = []

    async def collect(envelope):
        received.append(envelope)

    await bus.subscribe("tasks-test", ["tasks.#"], collect)
    settings = tasks_settings_for(
        tasks_pg_url,
        auto_migrate=False,
        background_workers=True,
        scheduler_poll_seconds=0.1,
    )
    from taskflow_tasks.bootstrap import create_app

    app = create_app(settings, bus=bus, jwks=lambda: tasks_jwks)
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            alice = users_for(client)
            due = datetime.now(UTC) + timedelta(minutes=10)
            task = await alice.create_task(title="soon", due_at=due.isoformat(), reminders=["PT1H"])
            await alice.patch(f"/api/v1/tasks/{task['id']}", json={"status": "in_progress"})

            def mine():
                # The session's database holds other tests' events too: the relay sends all.
                return [e for e in received if e.data.get("task", {}).get("id") == task["id"]]

            def types():
                return [e.event_type for e in mine()]

            await _wait_for(lambda: "tasks.task.due_soon.v1" in types())
            await _wait_for(lambda: "tasks.task.updated.v1" in types())
            assert types().count("tasks.task.created.v1") == 1
            assert types().count("tasks.task.due_soon.v1") == 1
            created = next(e for e in mine() if e.event_type == "tasks.task.created.v1")
            assert created.subject == alice.sub
            assert created.data["task"]["owner_id"] == alice.sub
    await bus.close()

"""The tasks service's settings (env prefix TASKFLOW_), built in the composition root."""

from __future__ import annotations

from pydantic import Field

from taskflow_common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service_name: str = "tasks"
    host: str = "127.0.0.1"
    port: int = 8001

    database_url: str = "postgresql://taskflow:taskflow@127.0.0.1:55432/taskflow"
    db_pool_size: int = Field(default=10, ge=1, le=100)  # the process's asyncpg pool
    amqp_url: str = "amqp://guest:guest@127.0.0.1:55672/"
    # Upgrade the schema at start (under an advisory lock, so replicas take turns).
    auto_migrate: bool = True
    # Run the outbox relay and the reminder scheduler inside the web process (embedded mode);
    # in the distributed mode they are their own processes (`relay`, `scheduler`).
    background_workers: bool = False

    relay_batch_size: int = Field(default=100, ge=1, le=1000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    scheduler_poll_seconds: float = Field(default=5.0, gt=0)
    idempotency_ttl_hours: int = Field(default=48, ge=24)
    export_max_tasks: int = Field(default=10_000, ge=1)
    gauge_refresh_seconds: float = Field(default=15.0, ge=0)

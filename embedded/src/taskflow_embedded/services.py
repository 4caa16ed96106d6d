"""Each service's ASGI app, built by its own factory with the shared in-process parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from taskflow_common.auth import JwksSource
from taskflow_common.messaging import InProcessEventBus
from taskflow_embedded.django_app import build_django_asgi
from taskflow_suggest import bootstrap as suggest_bootstrap
from taskflow_suggest.config import Settings as SuggestSettings
from taskflow_tasks import bootstrap as tasks_bootstrap
from taskflow_tasks.config import Settings as TasksSettings


@dataclass(frozen=True)
class SharedParts:
    """What every in-process service receives instead of building its own."""

    bus: InProcessEventBus
    jwks: JwksSource
    issuer: str
    audience: str
    data_dir: Path
    database_url: str  # one database; each service keeps to its own schema, as distributed
    user_directory: Any  # get_user(user_id) -> (id, username, email) | None
    service_http: httpx.Client | None = None  # admin's client for the other services' APIs


@dataclass
class ServiceApps:
    tasks: Any
    suggest: Any
    django: Any  # notify + admin: one Django settings module per process


def build_service_apps(shared: SharedParts) -> ServiceApps:
    common: dict[str, Any] = {
        "env": "development",
        "oidc_issuer": shared.issuer,
        "oidc_audience": shared.audience,
    }
    tasks = tasks_bootstrap.create_app(
        # The outbox relay and the reminder scheduler run inside this process.
        TasksSettings(**common, background_workers=True, database_url=shared.database_url),
        bus=shared.bus,
        jwks=shared.jwks,
    )
    suggest = suggest_bootstrap.create_app(
        SuggestSettings(**common, mode="embedded", database_url=shared.database_url),
        bus=shared.bus,
        jwks=shared.jwks,
        # Suggest reads tasks (and applies accepted priorities) through the tasks API,
        # in-process here rather than over loopback.
        tasks_app=tasks,
    )
    django = build_django_asgi(
        bus=shared.bus,
        jwks=shared.jwks,
        user_directory=shared.user_directory,
        issuer=shared.issuer,
        audience=shared.audience,
        data_dir=shared.data_dir.resolve(),
        database_url=shared.database_url,
        service_http=shared.service_http,
    )
    return ServiceApps(tasks=tasks, suggest=suggest, django=django)

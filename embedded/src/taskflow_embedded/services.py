"""Each service's ASGI app, built by its own factory with the shared in-process parts.

A service whose factory is not importable yet gets a placeholder, so the embedded suite always
starts; `placeholders_in_use` says which.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskflow_common.auth import JwksSource
from taskflow_common.messaging import InProcessEventBus
from taskflow_embedded.placeholders import placeholder_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SharedParts:
    """What every in-process service receives instead of building its own."""

    bus: InProcessEventBus
    jwks: JwksSource
    issuer: str
    audience: str
    data_dir: Path
    user_directory: Any  # get_user(user_id) -> (id, username, email) | None


@dataclass
class ServiceApps:
    tasks: Any
    suggest: Any
    django: Any  # notify + admin: one Django settings module per process
    placeholders_in_use: list[str] = field(default_factory=list)


def _sqlite_url(data_dir: Path, name: str) -> str:
    # Plain sqlite:/// as in TASKFLOW_DATABASE_URL; each service picks its async driver.
    return f"sqlite:///{(data_dir / f'{name}.sqlite3').resolve()}"


def _factory(module: str, attribute: str) -> Callable[..., Any] | None:
    try:
        found: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        log.info("%s.%s not available (%s): using a placeholder", module, attribute, exc)
        return None
    return found


def _fastapi_service(name: str, shared: SharedParts, prefixes: list[str]) -> tuple[Any, bool]:
    """(app, is_placeholder) for a FastAPI service with `<pkg>.bootstrap.create_app`."""
    create_app = _factory(f"taskflow_{name}.bootstrap", "create_app")
    settings_class = _factory(f"taskflow_{name}.config", "Settings")
    if create_app is None or settings_class is None:
        return placeholder_app(
            name, prefixes, jwks=shared.jwks, issuer=shared.issuer, audience=shared.audience
        ), True
    settings = settings_class(
        env="development",
        mode="embedded",
        # tasks: run the outbox relay and reminder scheduler inside this process.
        background_workers=True,
        database_url=_sqlite_url(shared.data_dir, name),
        oidc_issuer=shared.issuer,
        oidc_audience=shared.audience,
    )
    return create_app(settings, bus=shared.bus, jwks=shared.jwks), False


def build_service_apps(shared: SharedParts) -> ServiceApps:
    placeholders: list[str] = []
    tasks, fake = _fastapi_service(
        "tasks", shared, ["/api/v1/tasks", "/api/v1/projects", "/api/v1/labels"]
    )
    if fake:
        placeholders.append("tasks")
    suggest, fake = _fastapi_service("suggest", shared, ["/api/v1/suggestions"])
    if fake:
        placeholders.append("suggest")

    build_django = _factory("taskflow_embedded.django_app", "build_django_asgi")
    if build_django is not None:
        django = build_django(
            bus=shared.bus,
            jwks=shared.jwks,
            user_directory=shared.user_directory,
            issuer=shared.issuer,
            audience=shared.audience,
            data_dir=shared.data_dir.resolve(),
        )
    else:
        placeholders += ["notify", "admin"]
        django = placeholder_app(
            "notify-admin",
            ["/api/v1/notifications", "/api/v1/webhooks", "/api/v1/admin/audit"],
            jwks=shared.jwks,
            issuer=shared.issuer,
            audience=shared.audience,
        )
    return ServiceApps(
        tasks=tasks, suggest=suggest, django=django, placeholders_in_use=placeholders
    )

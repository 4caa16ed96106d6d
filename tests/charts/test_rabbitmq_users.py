"""Every service that uses RabbitMQ connects as its own broker user, limited to what it does.

The umbrella renders a topology-operator `User` and `Permission` per such service; the operator
writes the user's credentials to `<User>-user-credentials`, and every container of that service
builds its AMQP URL from that Secret, never from the cluster's default (administrator) user.
The permissions are checked here against the names taskflow_common and notify's Celery really
use; test_rabbitmq_permissions.py runs the services' own code against a broker holding them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from taskflow_common.messaging.amqp import (
    DEAD_LETTER_EXCHANGE,
    EXCHANGE,
    dead_letter_queue_name,
    queue_name,
)
from taskflow_notify.config import NotifySettings

BROKER_SERVICES = {"tasks", "suggest", "notify", "admin"}
CELERY_QUEUE = NotifySettings.model_fields["celery_queue"].default
# A worker's remote-control queue: `--hostname=notify-<pid>@%h` (taskflow_notify.__main__).
PIDBOX_QUEUE = "notify-17@taskflow-notify-worker-5d8f7c-x2x9q.celery.pidbox"

# What each service does on the broker: (permission, resource name) pairs it needs.
NEEDS: dict[str, set[tuple[str, str]]] = {
    "tasks": {
        ("configure", EXCHANGE),
        ("configure", DEAD_LETTER_EXCHANGE),
        ("write", EXCHANGE),  # the relay publishes tasks.* events
    },
    "admin": {
        ("configure", EXCHANGE),
        ("configure", DEAD_LETTER_EXCHANGE),
        ("write", EXCHANGE),  # the audit relay publishes admin.* events
    },
    "suggest": {
        ("configure", EXCHANGE),
        ("configure", DEAD_LETTER_EXCHANGE),
        ("configure", queue_name("suggest")),
        ("configure", dead_letter_queue_name("suggest")),
        ("write", queue_name("suggest")),  # queue.bind: write on the queue ...
        ("write", dead_letter_queue_name("suggest")),
        ("read", EXCHANGE),  # ... and read on the exchange
        ("read", DEAD_LETTER_EXCHANGE),
        ("read", queue_name("suggest")),  # basic.consume
        ("write", DEAD_LETTER_EXCHANGE),  # declaring a queue that dead-letters there
        ("write", EXCHANGE),  # publishes suggest.* events
    },
    "notify": {
        ("configure", EXCHANGE),
        ("configure", DEAD_LETTER_EXCHANGE),
        ("configure", queue_name("notify")),
        ("configure", dead_letter_queue_name("notify")),
        ("write", queue_name("notify")),
        ("write", dead_letter_queue_name("notify")),
        ("read", EXCHANGE),
        ("read", DEAD_LETTER_EXCHANGE),
        ("read", queue_name("notify")),
        ("write", DEAD_LETTER_EXCHANGE),
        # Celery: the deliveries exchange and queue (producer and worker), the worker's mailbox
        # and its heartbeats.
        *((p, CELERY_QUEUE) for p in ("configure", "write", "read")),
        *((p, PIDBOX_QUEUE) for p in ("configure", "write", "read")),
        ("configure", "celery.pidbox"),
        ("read", "celery.pidbox"),
        ("configure", "reply.celery.pidbox"),
        ("write", "reply.celery.pidbox"),
        ("configure", "celeryev"),
        ("write", "celeryev"),
        # Celery publishes a task for a direct queue through the default exchange.
        ("write", "amq.default"),
    },
}
# What each must not be able to do: another service's queues, publishing what is not its own,
# consuming dead letters, the default exchange.
REFUSED: dict[str, set[tuple[str, str]]] = {
    "tasks": {
        ("read", queue_name("suggest")),
        ("read", queue_name("notify")),
        ("configure", queue_name("notify")),
        ("write", CELERY_QUEUE),
        ("read", EXCHANGE),
    },
    "admin": {
        ("read", queue_name("notify")),
        ("configure", queue_name("suggest")),
        ("write", "amq.default"),
    },
    "suggest": {
        ("configure", queue_name("notify")),
        ("read", queue_name("notify")),
        ("read", dead_letter_queue_name("suggest")),
        ("write", CELERY_QUEUE),
        ("configure", "celery.pidbox"),
        ("write", "amq.default"),
    },
    "notify": {
        ("write", EXCHANGE),  # notify publishes no event
        ("configure", queue_name("suggest")),
        ("read", queue_name("suggest")),
        ("read", dead_letter_queue_name("notify")),
        ("configure", "taskflow.notifyx"),
    },
}


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def permissions(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """service -> its Permission's configure/write/read expressions."""
    return {
        name.removeprefix("taskflow-rabbitmq-"): doc["spec"]["permissions"]
        for name, doc in _by_kind(docs, "Permission").items()
    }


def allows(expressions: dict[str, str], permission: str, resource: str) -> bool:
    """RabbitMQ matches a permission's regular expression anywhere in the name (re:run)."""
    return re.search(expressions[permission], resource) is not None


@pytest.mark.parametrize("docs_fixture", ["default_docs", "production_docs", "dev_docs"])
def test_each_service_on_the_broker_has_its_own_user_and_permission(
    request: pytest.FixtureRequest, docs_fixture: str
) -> None:
    docs = request.getfixturevalue(docs_fixture)
    users = _by_kind(docs, "User")
    grants = _by_kind(docs, "Permission")
    assert set(users) == {f"taskflow-rabbitmq-{s}" for s in BROKER_SERVICES}
    assert set(grants) == set(users)
    for name, grant in grants.items():
        assert grant["spec"]["userReference"] == {"name": name}
        assert grant["spec"]["vhost"] == "/"
        assert grant["spec"]["rabbitmqClusterReference"] == {"name": "taskflow-rabbitmq"}
        assert users[name]["spec"]["tags"] == [], f"{name}: an AMQP client needs no UI tag"


@pytest.mark.parametrize("docs_fixture", ["default_docs", "production_docs"])
def test_every_amqp_url_comes_from_its_own_services_user_secret(
    request: pytest.FixtureRequest, docs_fixture: str
) -> None:
    docs = request.getfixturevalue(docs_fixture)
    users = _by_kind(docs, "User")
    seen: dict[str, set[str]] = {}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        service = doc["metadata"]["labels"]["app.kubernetes.io/name"]
        for container in doc["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e for e in container["env"]}
            if "TASKFLOW_AMQP_URL" not in env:
                continue
            seen.setdefault(service, set()).add(doc["metadata"]["name"])
            url = env["TASKFLOW_AMQP_URL"]["value"]
            assert url.startswith(
                "amqp://$(TASKFLOW_AMQP_USERNAME):$(TASKFLOW_AMQP_PASSWORD)@taskflow-rabbitmq:5672"
            ), url
            # The Secret the topology operator writes for this service's own User.
            own = f"taskflow-rabbitmq-{service}"
            assert own in users, f"{doc['metadata']['name']}: no broker user of its own"
            for part, key in (("USERNAME", "username"), ("PASSWORD", "password")):
                ref = env[f"TASKFLOW_AMQP_{part}"]["valueFrom"]["secretKeyRef"]
                assert ref == {"name": f"{own}-user-credentials", "key": key}
    assert set(seen) == BROKER_SERVICES
    # Every role of those services and their migration Jobs.
    assert {service: len(names) for service, names in seen.items()} == {
        "tasks": 4,
        "suggest": 3,
        "notify": 4,
        "admin": 2,
    }
    rendered = str(docs)
    assert "rabbitmq-default-user" not in rendered, "a service still uses the administrator"


@pytest.mark.parametrize("service", sorted(BROKER_SERVICES))
def test_permissions_allow_what_the_service_does_and_no_more(
    production_docs: list[dict[str, Any]], service: str
) -> None:
    expressions = permissions(production_docs)[service]
    missing = {need for need in NEEDS[service] if not allows(expressions, *need)}
    assert missing == set(), f"{service} could not do what its code does"
    granted = {refused for refused in REFUSED[service] if allows(expressions, *refused)}
    assert granted == set(), f"{service} may do more than it needs"


def test_the_permission_check_is_not_toothless() -> None:
    """An unanchored expression grants names it does not spell out: the check sees it."""
    loose = {"configure": r"taskflow\.notify", "write": "^$", "read": "^$"}
    assert allows(loose, "configure", "taskflow.notifyx")
    assert not allows({"configure": "^$", "write": "^$", "read": "^$"}, "configure", EXCHANGE)

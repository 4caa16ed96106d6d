"""Django ops endpoints: the public port says ready or not; metrics and reasons stay internal.

A minimal Django project (this module is its URLconf) served through Django's ASGI handler
behind the two listeners, as notify's and admin's serve roles run it.
"""

from __future__ import annotations

import django
import httpx
import pytest
from django.conf import settings

from taskflow_common.auth import JwksCache, JwtVerifier
from taskflow_common.auth.jwks import static_jwks_source
from taskflow_common.djangoweb import registry
from taskflow_common.health import ReadinessCheck
from taskflow_common.listeners import MetricsListenerSplit

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="unit-tests-only",
        ALLOWED_HOSTS=["svc.test"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={},
    )
    django.setup()

# Django's ASGI handler and the ops URLconf read the settings configured above.
from django.core.asgi import get_asgi_application

from taskflow_common.djangoweb.ops import ops_urlpatterns

urlpatterns = ops_urlpatterns()

METRICS_PORT = 9100
PUBLIC = "http://svc.test"
METRICS = f"http://svc.test:{METRICS_PORT}"
SECRET_DETAIL = "could not connect to server at 10.0.7.12:5432 as taskflow_owner"
state = {"database_up": True}


async def database() -> None:
    if not state["database_up"]:
        raise ConnectionError(SECRET_DETAIL)


@pytest.fixture(autouse=True)
def installed_checks():
    verifier = JwtVerifier(
        issuer="https://idp.test", audience="api", jwks=JwksCache(static_jwks_source({"keys": []}))
    )
    registry.install(
        verifier=verifier, checks=lambda: [ReadinessCheck("database", database)], name="unit"
    )
    state["database_up"] = True
    yield
    registry._check_sources.pop("unit", None)


def client() -> httpx.AsyncClient:
    app = MetricsListenerSplit(get_asgi_application(), METRICS_PORT)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


async def test_the_public_port_serves_no_metrics_and_the_metrics_port_does():
    async with client() as c:
        public = await c.get(f"{PUBLIC}/metrics")
        scrape = await c.get(f"{METRICS}/metrics")
    assert public.status_code == 404
    assert "taskflow_http_requests_total" not in public.text
    assert scrape.status_code == 200
    assert "# TYPE taskflow_http_requests_total counter" in scrape.text


async def test_a_failing_check_is_only_not_ready_on_the_public_port():
    state["database_up"] = False
    async with client() as c:
        ready = await c.get(f"{PUBLIC}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready"}
    assert "10.0.7.12" not in ready.text


async def test_the_metrics_port_tells_operators_which_check_failed_and_why():
    state["database_up"] = False
    async with client() as c:
        ready = await c.get(f"{METRICS}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not ready",
        "checks": {"database": f"down: ConnectionError: {SECRET_DETAIL}"},
    }


async def test_a_ready_service_says_only_ready_on_the_public_port():
    async with client() as c:
        ready = await c.get(f"{PUBLIC}/readyz")
        alive = await c.get(f"{PUBLIC}/healthz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert alive.json() == {"status": "ok"}

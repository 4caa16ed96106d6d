"""Schema-driven fuzzing of the whole API through the gateway: no input gives a 5xx.

Schemathesis reads the gateway's merged `/openapi.json` and generates requests for every
`/api/v1/*` operation, authenticated as a real Keycloak user. Whatever it sends, the answer must
be a deliberate one (2xx/3xx/4xx), never a server error. `/auth/*` is left out: it creates
realm users and trips the brute-force protection by design.
"""

import secrets

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.suite import require_suite

GATEWAY = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def bearer() -> str:
    require_suite()
    realm = KeycloakRealm()
    return realm.access_token(realm.create_user(f"fuzz{secrets.token_hex(2)}"))


def test_no_request_gives_a_server_error(bearer):
    schema = schemathesis.openapi.from_url(f"{GATEWAY}/openapi.json").include(
        path_regex=r"^/api/v1/"
    )
    headers = {"Authorization": f"Bearer {bearer}"}
    failures: list[str] = []
    operations = 0
    calls: list[int] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case):
            response = case.call(headers=headers, timeout=30)
            calls.append(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} answered {response.status_code}: "
                f"{response.text[:300]}\n  reproduce: {case.as_curl_command(headers)}"
            )

        try:
            no_server_error()
        except AssertionError as exc:
            failures.append(str(exc)[:1500])

    assert operations >= 30, f"only {operations} operations were fuzzed"
    assert len(calls) >= 3 * operations, f"only {len(calls)} requests were sent"
    assert not failures, "\n\n".join(failures)


def test_the_merged_description_covers_every_service():
    require_suite()
    paths = httpx.get(f"{GATEWAY}/openapi.json", timeout=10).json()["paths"]

    for prefix in (
        "/auth/",
        "/api/v1/tasks",
        "/api/v1/projects",
        "/api/v1/labels",
        "/api/v1/suggestions",
        "/api/v1/notifications",
        "/api/v1/webhooks",
        "/api/v1/admin/",
    ):
        assert any(p.startswith(prefix) for p in paths), f"no {prefix} operation is described"

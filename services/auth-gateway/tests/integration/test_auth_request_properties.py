"""Any body a caller can send to the gateway's /auth API answers 2xx or a 4xx problem, never a
5xx: deep and odd JSON, NUL bytes and lone surrogates, huge numbers, wrong types, extra fields,
bytes that are not JSON. Property-based (hypothesis), through a real uvicorn server, with both
identity providers: the development one (every operation, registration included) and the
stack's Keycloak (login, refresh and logout; registering would fill the realm with users)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import dev_gateway, keycloak_gateway, serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskflow_common.testing import hostile_input

odd_text = hostile_input.odd_text("@", "a@b", long=9_000)
deep_json = hostile_input.deep_json(odd_text)
FIELDS = ("username", "email", "password", "refresh_token")
# Bodies shaped like the real ones (the fields the schemas name, odd values, sometimes one more
# field), and anything at all.
shaped = st.dictionaries(st.sampled_from(FIELDS) | odd_text, deep_json | odd_text, max_size=5)
bodies = st.one_of(shaped, deep_json)
raw_bytes = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"{" * 5_000, b'{"username": "a"', b"\xff\xfe", b"[" * 300 + b"]" * 300]),
)
content_types = st.sampled_from(
    ["application/json", "application/json; charset=latin-1", "text/plain", "", "multipart/x"]
)
PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
GENEROUS = {"rate": 100_000, "period_seconds": 1, "burst": 100_000}
DEV_PATHS = ("/auth/register", "/auth/login", "/auth/refresh", "/auth/logout")
KEYCLOAK_PATHS = ("/auth/login", "/auth/refresh", "/auth/logout")


class _ServerThread:
    """Runs `serving(app)` on its own event loop in a thread, so hypothesis's synchronous
    examples can reach it with a plain client."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with serving(self.app) as url:
                self.url = url
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    def __enter__(self) -> str:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None or not self.url:
            raise RuntimeError(f"the gateway under test did not start: {self._error!r}")
        return self.url

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


@pytest.fixture(scope="module")
def dev_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data_dir: Path = tmp_path_factory.mktemp("dev-identity")
    app, _ = dev_gateway(
        data_dir, {}, rate_limits={"auth_credentials": GENEROUS, "auth_session": GENEROUS}
    )
    with _ServerThread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def keycloak_client() -> Iterator[httpx.Client]:
    with (
        _ServerThread(keycloak_gateway({})) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def _post(client: httpx.Client, path: str, content: bytes, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(path, content=content, headers=headers)
    shown = content[:120]
    assert response.status_code < 500, f"{path} {shown!r}: {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", (path, shown)
        problem = response.json()
        assert problem["status"] == response.status_code, problem


def _json(body: Any) -> bytes:
    # Lone surrogates cannot be UTF-8: they travel escaped, as a JSON client sends them.
    return json.dumps(body, allow_nan=False).encode()


@PROPERTY
@given(path=st.sampled_from(DEV_PATHS), body=bodies)
def test_dev_identity_json_bodies(dev_client: httpx.Client, path: str, body: Any) -> None:
    _post(dev_client, path, _json(body), "application/json")


@PROPERTY
@given(path=st.sampled_from(DEV_PATHS), content=raw_bytes, content_type=content_types)
def test_dev_identity_raw_bodies(
    dev_client: httpx.Client, path: str, content: bytes, content_type: str
) -> None:
    _post(dev_client, path, content, content_type)


@PROPERTY
@given(path=st.sampled_from(KEYCLOAK_PATHS), body=bodies)
def test_keycloak_json_bodies(keycloak_client: httpx.Client, path: str, body: Any) -> None:
    _post(keycloak_client, path, _json(body), "application/json")


@PROPERTY
@given(path=st.sampled_from(KEYCLOAK_PATHS), content=raw_bytes, content_type=content_types)
def test_keycloak_raw_bodies(
    keycloak_client: httpx.Client, path: str, content: bytes, content_type: str
) -> None:
    _post(keycloak_client, path, content, content_type)

"""Sending `Call`s: the bearer token (refreshed before it expires), retries, typed errors.

`SyncTransport` and `AsyncTransport` run the same steps; only the waiting differs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

import httpx

from taskflow_sdk import calls
from taskflow_sdk.auth import Tokens, TokenStore
from taskflow_sdk.errors import (
    AuthenticationError,
    NotLoggedInError,
    RequestTimeoutError,
    TransportError,
    error_from_response,
)
from taskflow_sdk.models import TokenResponse
from taskflow_sdk.retry import RetryPolicy

T = TypeVar("T")
USER_AGENT = "taskflow-sdk-python/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _transport_error(exc: httpx.TransportError, base_url: str) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(f"{base_url} did not answer in time ({exc.__class__.__name__})")
    return TransportError(f"cannot reach {base_url}: {exc}")


class _Session:
    """The tokens' life cycle, shared by both transports (no I/O but the store's)."""

    def __init__(self, store: TokenStore, access_token: str | None) -> None:
        self.store = store
        self.static_token = access_token  # a token from elsewhere, used as is, never refreshed

    def current(self) -> Tokens | None:
        return self.store.load()

    def must_refresh(self, now: float | None = None) -> Tokens | None:
        """The tokens to refresh now, or None when the access token is still fresh."""
        if self.static_token is not None:
            return None
        tokens = self.store.load()
        if tokens is None or tokens.access_fresh(now):
            return None
        return tokens if tokens.refreshable(now) else None

    def bearer(self) -> str:
        if self.static_token is not None:
            return self.static_token
        tokens = self.store.load()
        if tokens is None:
            raise NotLoggedInError("not logged in")
        if not tokens.access_fresh() and not tokens.refreshable():
            self.store.clear()
            raise NotLoggedInError("the session expired")
        return tokens.access_token

    def saved(self, answer: TokenResponse) -> Tokens:
        tokens = Tokens.from_response(answer)
        self.store.save(tokens)
        return tokens


class SyncTransport:
    def __init__(
        self,
        base_url: str,
        store: TokenStore,
        *,
        access_token: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = _Session(store, access_token)
        self.retry = retry or RetryPolicy()
        self.http = http or httpx.Client(
            base_url=self.base_url,
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            headers={"User-Agent": USER_AGENT},
        )
        self._refreshing = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def send(self, call: calls.Call[T]) -> T:
        return call.parse(self._response(call))

    def _response(self, call: calls.Call[T]) -> httpx.Response:
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            headers = dict(call.headers)
            if call.authenticated:
                self.refresh_if_due()
                headers["Authorization"] = f"Bearer {self.session.bearer()}"
            try:
                response = self.http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=headers
                )
            except httpx.TransportError as exc:
                delay = self.retry.next_delay(attempt, call.resendable, None)
                if delay is None:
                    raise _transport_error(exc, self.base_url) from exc
                time.sleep(delay)
                continue
            if response.status_code == 401 and call.authenticated and not refreshed:
                # Revoked or rejected before our clock said it expired: one refresh, once.
                refreshed = True
                if self.refresh(force=True):
                    attempt -= 1
                    continue
            if response.is_success:
                return response
            delay = self.retry.next_delay(attempt, call.resendable, response)
            if delay is None:
                raise error_from_response(response)
            time.sleep(delay)

    def refresh_if_due(self) -> None:
        if self.session.must_refresh() is not None:
            self.refresh()

    def refresh(self, force: bool = False) -> bool:
        """Trade the refresh token for new tokens; False when there is nothing to refresh."""
        with self._refreshing:
            tokens = self.session.current() if force else self.session.must_refresh()
            if tokens is None or tokens.refresh_token is None or self.session.static_token:
                return False  # another thread refreshed meanwhile, or no session
            try:
                answer = self.send(calls.refresh(tokens.refresh_token))
            except AuthenticationError:
                self.session.store.clear()
                raise
            self.session.saved(answer)
            return True

    @contextmanager
    def stream(self, path: str, params: calls.Query) -> Iterator[httpx.Response]:
        """A GET whose body is read in chunks (exports); errors raised like any call's."""
        self.refresh_if_due()
        headers = {"Authorization": f"Bearer {self.session.bearer()}"}
        try:
            with self.http.stream("GET", path, params=params, headers=headers) as response:
                if not response.is_success:
                    response.read()
                    raise error_from_response(response)
                yield response
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url) from exc


class AsyncTransport:
    def __init__(
        self,
        base_url: str,
        store: TokenStore,
        *,
        access_token: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = _Session(store, access_token)
        self.retry = retry or RetryPolicy()
        self.http = http or httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            headers={"User-Agent": USER_AGENT},
        )
        self._refreshing = asyncio.Lock()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, call: calls.Call[T]) -> T:
        return call.parse(await self._response(call))

    async def _response(self, call: calls.Call[T]) -> httpx.Response:
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            headers = dict(call.headers)
            if call.authenticated:
                await self.refresh_if_due()
                headers["Authorization"] = f"Bearer {self.session.bearer()}"
            try:
                response = await self.http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=headers
                )
            except httpx.TransportError as exc:
                delay = self.retry.next_delay(attempt, call.resendable, None)
                if delay is None:
                    raise _transport_error(exc, self.base_url) from exc
                await asyncio.sleep(delay)
                continue
            if response.status_code == 401 and call.authenticated and not refreshed:
                refreshed = True
                if await self.refresh(force=True):
                    attempt -= 1
                    continue
            if response.is_success:
                return response
            delay = self.retry.next_delay(attempt, call.resendable, response)
            if delay is None:
                raise error_from_response(response)
            await asyncio.sleep(delay)

    async def refresh_if_due(self) -> None:
        if self.session.must_refresh() is not None:
            await self.refresh()

    async def refresh(self, force: bool = False) -> bool:
        async with self._refreshing:
            tokens = self.session.current() if force else self.session.must_refresh()
            if tokens is None or tokens.refresh_token is None or self.session.static_token:
                return False
            try:
                answer = await self.send(calls.refresh(tokens.refresh_token))
            except AuthenticationError:
                self.session.store.clear()
                raise
            self.session.saved(answer)
            return True

    @asynccontextmanager
    async def stream(self, path: str, params: calls.Query) -> AsyncIterator[httpx.Response]:
        await self.refresh_if_due()
        headers = {"Authorization": f"Bearer {self.session.bearer()}"}
        try:
            async with self.http.stream("GET", path, params=params, headers=headers) as response:
                if not response.is_success:
                    await response.aread()
                    raise error_from_response(response)
                yield response
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url) from exc

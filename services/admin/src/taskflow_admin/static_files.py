"""Django Admin's CSS, JS and images, served by WhiteNoise from the installed apps.

WhiteNoise's middleware is synchronous only: placed as it is in this ASGI app, every request
(the admin API's, notify's in the embedded mode) would take a thread hop through it. This
wrapper looks the path up first and hands only static files to WhiteNoise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        # Lists the finders' files once, at start (no collectstatic step, nothing to refresh).
        self.whitenoise = WhiteNoiseMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._serve_async(request)
        return self.whitenoise(request)

    async def _serve_async(self, request: HttpRequest) -> HttpResponseBase:
        static_file = self.whitenoise.files.get(request.path_info)
        if static_file is None:
            response: Awaitable[HttpResponseBase] = self.get_response(request)
            return await response
        served: HttpResponseBase = await sync_to_async(self.whitenoise.serve)(static_file, request)
        return served

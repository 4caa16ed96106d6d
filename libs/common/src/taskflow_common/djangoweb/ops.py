"""/healthz, /readyz and /metrics for Django services, and RED metrics per route template.

As for the FastAPI services (`taskflow_common.web.ops`): the public listener answers /healthz
and a bare ready/not ready /readyz; /metrics and the readiness detail answer on the metrics
listener only (`taskflow_common.listeners` marks those requests' ASGI scope).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path

from taskflow_common.djangoweb.registry import installed_checks
from taskflow_common.health import run_checks
from taskflow_common.listeners import on_metrics_listener
from taskflow_common.metrics import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS,
    METRICS_CONTENT_TYPE,
    render_metrics,
)


def _from_metrics_listener(request: HttpRequest) -> bool:
    # Only ASGI requests carry a scope; a WSGI request never came in on the metrics port.
    return on_metrics_listener(getattr(request, "scope", {}))


async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> JsonResponse:
    report = await run_checks(installed_checks())
    body = report.detailed() if _from_metrics_listener(request) else report.public()
    return JsonResponse(body, status=200 if report.ready else 503)


async def metrics(request: HttpRequest) -> HttpResponse:
    if not _from_metrics_listener(request):
        # The same answer as a path that does not exist: the public port has no metrics.
        raise Http404
    return HttpResponse(render_metrics(), content_type=METRICS_CONTENT_TYPE)


def ops_urlpatterns() -> list[URLPattern]:
    return [
        path("healthz", healthz, name="healthz"),
        path("readyz", readyz, name="readyz"),
        path("metrics", metrics, name="metrics"),
    ]


class RequestMetricsMiddleware:
    """Requests and latency per route template (never the raw path: ids would explode labels).

    Async-capable so it never forces async views (the ops views) onto a thread.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.service = "django"
        from django.conf import settings

        self.service = getattr(settings, "TASKFLOW_SERVICE_NAME", "django")
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._observe(request, response, started)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        handler: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        response = await handler(request)
        self._observe(request, response, started)
        return response

    def _observe(self, request: HttpRequest, response: HttpResponse, started: float) -> None:
        match = getattr(request, "resolver_match", None)
        route = "/" + match.route if match is not None and match.route else "unmatched"
        method = request.method or "GET"
        HTTP_REQUESTS.labels(self.service, method, route, str(response.status_code)).inc()
        HTTP_REQUEST_DURATION.labels(self.service, method, route).observe(
            time.perf_counter() - started
        )

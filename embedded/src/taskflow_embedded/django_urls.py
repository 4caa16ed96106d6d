"""The embedded mode's one URLconf: notify's and admin's routes side by side."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

from taskflow_admin.openapi import document as admin_document
from taskflow_admin.urls import api_urlpatterns as admin_urlpatterns
from taskflow_common.djangoweb.ops import ops_urlpatterns
from taskflow_notify.openapi import document as notify_document
from taskflow_notify.urls import api_urlpatterns as notify_urlpatterns


def _merged_openapi() -> dict[str, Any]:
    """Both services' documents in one (the gateway keeps each upstream's own paths)."""
    notify, admin = notify_document(), admin_document()
    notify["info"]["title"] = "TaskFlow notify + admin"
    notify["paths"].update(admin["paths"])
    notify["components"]["schemas"].update(admin.get("components", {}).get("schemas", {}))
    return notify


async def openapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_merged_openapi())


urlpatterns = [
    *ops_urlpatterns(),
    path("openapi.json", openapi_view),
    *notify_urlpatterns,
    *admin_urlpatterns,
]

handler400 = "taskflow_common.djangoweb.errors.handler400"
handler403 = "taskflow_common.djangoweb.errors.handler403"
handler404 = "taskflow_common.djangoweb.errors.handler404"
handler500 = "taskflow_common.djangoweb.errors.handler500"

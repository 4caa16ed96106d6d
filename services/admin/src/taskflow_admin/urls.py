"""Admin's routes (also included by the embedded mode's composed URLconf)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

from taskflow_admin import apis
from taskflow_admin.openapi import openapi_view
from taskflow_common.djangoweb.ops import ops_urlpatterns

api_urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/v1/admin/", apis.AdminRootApi.as_view()),
]

urlpatterns = [
    *ops_urlpatterns(),
    path("openapi.json", openapi_view),
    *api_urlpatterns,
]

handler400 = "taskflow_common.djangoweb.errors.handler400"
handler403 = "taskflow_common.djangoweb.errors.handler403"
handler404 = "taskflow_common.djangoweb.errors.handler404"
handler500 = "taskflow_common.djangoweb.errors.handler500"

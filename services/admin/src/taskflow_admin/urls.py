"""Admin's routes (also included by the embedded mode's composed URLconf)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

from taskflow_admin import apis
from taskflow_admin.console.dashboard import urlpatterns as dashboard_urlpatterns
from taskflow_admin.console.tasks import urlpatterns as tasks_urlpatterns
from taskflow_admin.console.users import urlpatterns as users_urlpatterns
from taskflow_admin.identity.urls import urlpatterns as identity_urlpatterns
from taskflow_admin.openapi import openapi_view
from taskflow_common.djangoweb.ops import ops_urlpatterns

api_urlpatterns: list[URLPattern | URLResolver] = [
    *identity_urlpatterns,
    *users_urlpatterns,
    *tasks_urlpatterns,
    *dashboard_urlpatterns,
    path("admin/", admin.site.urls),
    path("api/v1/admin/", apis.AdminRootApi.as_view()),
    path("api/v1/admin/audit", apis.AuditListApi.as_view()),
    path("api/v1/admin/users", apis.UserListApi.as_view()),
    path("api/v1/admin/stats", apis.StatsApi.as_view()),
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

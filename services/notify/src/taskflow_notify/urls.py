"""Notify's routes (also included by the embedded mode's composed URLconf)."""

from __future__ import annotations

from django.urls import URLPattern, path

from taskflow_common.djangoweb.ops import ops_urlpatterns
from taskflow_notify import apis
from taskflow_notify.openapi import openapi_view

api_urlpatterns: list[URLPattern] = [
    path("api/v1/notifications", apis.NotificationListApi.as_view()),
    path("api/v1/notifications/read-all", apis.NotificationReadAllApi.as_view()),
    path("api/v1/notifications/changes", apis.ChangesApi.as_view()),
    path("api/v1/notifications/preferences", apis.PreferencesApi.as_view()),
    path("api/v1/notifications/<str:notification_id>/read", apis.NotificationReadApi.as_view()),
    path("api/v1/webhooks", apis.WebhookListCreateApi.as_view()),
    path("api/v1/webhooks/<str:webhook_id>", apis.WebhookDetailApi.as_view()),
    path("api/v1/webhooks/<str:webhook_id>/deliveries", apis.WebhookDeliveriesApi.as_view()),
]

# On notify's own port only: the embedded mode composes api_urlpatterns beside the admin
# service's, which owns /api/v1/admin/* there (and behind the gateway).
admin_urlpatterns: list[URLPattern] = [
    path("api/v1/admin/stats", apis.AdminStatsApi.as_view()),
]

urlpatterns = [
    *ops_urlpatterns(),
    path("openapi.json", openapi_view),
    *api_urlpatterns,
    *admin_urlpatterns,
]

handler400 = "taskflow_common.djangoweb.errors.handler400"
handler403 = "taskflow_common.djangoweb.errors.handler403"
handler404 = "taskflow_common.djangoweb.errors.handler404"
handler500 = "taskflow_common.djangoweb.errors.handler500"

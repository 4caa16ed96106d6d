from __future__ import annotations

from django.urls import URLPattern, path

from taskflow_notify.ws.connection import NotificationsConnection

websocket_urlpatterns: list[URLPattern] = [
    path("ws/notifications", NotificationsConnection.as_asgi()),
]

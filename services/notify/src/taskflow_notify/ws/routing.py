from __future__ import annotations

from django.urls import URLPattern, path

from taskflow_notify.ws.consumer import NotificationsConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/notifications", NotificationsConsumer.as_asgi()),
]

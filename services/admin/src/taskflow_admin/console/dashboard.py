"""The admin index as the dashboard: tasks by status and priority, overdue, created vs
completed over 30 days, notifications by channel, suggestion acceptance, each service's health."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path

from taskflow_admin.console.pages import render_page
from taskflow_admin.container import container
from taskflow_admin.dashboard import day_chart, services_health
from taskflow_admin.identity import upstream_token


def dashboard(request: HttpRequest) -> HttpResponse:
    cfg = settings.TASKFLOW_ADMIN
    health = services_health(
        container().services, upstream_token(request), cache_seconds=cfg.dashboard_cache_seconds
    )
    by_name = {h.name: h for h in health}
    tasks: dict[str, Any] = by_name["tasks"].stats or {}
    return render_page(
        request,
        "taskflow_admin/console/dashboard.html",
        str(admin.site.index_title),  # the admin index's own title: this page replaces it
        {
            "health": health,
            "tasks_stats": tasks,
            "chart": day_chart(list(tasks.get("per_day") or [])),
            "notify_stats": by_name["notify"].stats or {},
            "suggest_stats": by_name["suggest"].stats or {},
            "app_list": admin.site.get_app_list(request),
        },
    )


urlpatterns = [
    path("admin/", admin.site.admin_view(dashboard), name="taskflow_admin_dashboard"),
]

"""The realm's users: search and page, one user's page, and the actions on them (POST)."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from taskflow_admin.console.pages import actor_of, render_page
from taskflow_admin.console.tasks import STATUSES
from taskflow_admin.container import container
from taskflow_admin.identity import upstream_token
from taskflow_admin.upstream import UpstreamError
from taskflow_admin.user_actions import USER_ACTIONS, user_act
from taskflow_common.problems import ProblemError

PAGE_SIZE = 50
_DONE = {
    "enable": "enabled",
    "disable": "disabled",
    "reset_password": "sent a password-reset email to",
    "grant_admin": "made an administrator:",
    "revoke_admin": "removed the admin role from",
}


def _offset(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0


def user_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    first = _offset(request.GET.get("first"))
    try:
        page = container().directory.search(query, first=first, limit=PAGE_SIZE)
        problem = None
    except ProblemError as exc:
        page, problem = None, exc.problem.detail

    def link(offset: int) -> str:
        return "?" + urlencode({"q": query, "first": offset})

    return render_page(
        request,
        "taskflow_admin/console/users.html",
        "Users",
        {
            "query": query,
            "page": page,
            "problem": problem,
            "actions": USER_ACTIONS,
            "previous_link": link(max(first - PAGE_SIZE, 0)) if first else None,
            "next_link": (
                link(first + PAGE_SIZE) if page and first + PAGE_SIZE < page.total else None
            ),
            "first_shown": first + 1,
            "last_shown": first + len(page.users) if page else 0,
        },
    )


def user_detail(request: HttpRequest, user_id: UUID) -> HttpResponse:
    try:
        user = container().directory.get(str(user_id))
    except ProblemError as exc:
        if exc.problem.status == 404:
            raise Http404("No such user.") from exc
        raise
    counts, problem = _task_counts(request, user.id)
    return render_page(
        request,
        "taskflow_admin/console/user.html",
        f"User {user.username}",
        {
            "user": user,
            "actions": USER_ACTIONS,
            "task_counts": counts,
            "task_counts_problem": problem,
        },
    )


def _task_counts(request: HttpRequest, user_id: str) -> tuple[list[tuple[str, int]], str | None]:
    """The user's own tasks by status: one call per status, each asking for the total only."""
    tasks = container().tasks
    token = upstream_token(request)
    counts = []
    try:
        for status in STATUSES:
            page = tasks.search(token, {"owner_id": user_id, "status": status, "limit": "1"})
            counts.append((status, page.total))
    except UpstreamError as exc:
        return [], str(exc)
    return counts, None


@require_POST
def user_action(request: HttpRequest, user_id: UUID) -> HttpResponse:
    action = request.POST.get("action", "")
    back = request.POST.get("next") or reverse("taskflow_admin_user", args=[user_id])
    user_key = str(user_id)
    if not back.startswith("/admin/"):  # never an open redirect
        back = reverse("taskflow_admin_users")
    if action not in USER_ACTIONS:
        messages.error(request, "Unknown action.")
        return HttpResponseRedirect(back)
    try:
        user = user_act(actor_of(request), container().directory, user_key, action)
    except ProblemError as exc:
        messages.error(request, f"Keycloak refused: {exc.problem.detail}")
        return HttpResponseRedirect(back)
    messages.success(request, f"{_DONE[action].capitalize()} {user.username}.")
    return HttpResponseRedirect(back)


urlpatterns = [
    path("admin/users/", admin.site.admin_view(user_list), name="taskflow_admin_users"),
    path(
        "admin/users/<uuid:user_id>/",
        admin.site.admin_view(user_detail),
        name="taskflow_admin_user",
    ),
    path(
        "admin/users/<uuid:user_id>/action/",
        admin.site.admin_view(user_action),
        name="taskflow_admin_user_action",
    ),
]

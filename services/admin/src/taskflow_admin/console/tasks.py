"""Tasks across all users, through the tasks service's admin API (never its tables).

The changelist is one upstream call per page (the API's keyset page carries the total), so a
page of any size costs the same number of calls and queries. Next/previous walk the API's
cursors: the cursors of the pages before this one travel in the query string (`trail`).
Bulk actions and the change form write through the API, which runs the user API's domain
commands and emits the same events; each write is audited here with the admin as actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from taskflow_admin.audit import record_action
from taskflow_admin.console.pages import actor_of, render_page
from taskflow_admin.container import container
from taskflow_admin.identity import upstream_token
from taskflow_admin.upstream import UpstreamError

STATUSES = ("todo", "in_progress", "done", "cancelled")
PRIORITIES = ("none", "low", "medium", "high", "urgent")
SORTS = ("due_at", "-due_at", "created_at", "-created_at", "priority", "-priority")
FILTERS = ("q", "status", "priority", "overdue", "project_id", "owner_id", "assignee_id", "deleted")
BULK_ACTIONS = {
    "set_priority": "Set priority",
    "reassign": "Reassign",
    "complete": "Mark done",
    "trash": "Move to trash",
    "restore": "Restore",
}
PAGE_SIZES = (25, 50, 100, 200)
MAX_TRAIL = 50  # pages one can step back through


def _filters(request: HttpRequest) -> dict[str, str]:
    """The filters of the query string the API knows, as the API spells them."""
    chosen = {k: request.GET.get(k, "").strip()[:200] for k in FILTERS}
    if chosen["status"] not in STATUSES:
        chosen["status"] = ""
    if chosen["priority"] not in PRIORITIES:
        chosen["priority"] = ""
    chosen["overdue"] = "true" if chosen["overdue"] == "true" else ""
    chosen["deleted"] = "true" if chosen["deleted"] == "true" else ""
    return {k: v for k, v in chosen.items() if v}


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("limit", 50))
    except ValueError:
        return 50
    return size if size in PAGE_SIZES else 50


def task_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    sort = request.GET.get("sort", "") if request.GET.get("sort", "") in SORTS else ""
    limit = _page_size(request)
    cursor = request.GET.get("cursor", "")[:500]
    trail = [c for c in request.GET.get("trail", "").split(".") if c][-MAX_TRAIL:]
    params = {**filters, "limit": str(limit)}
    if sort:
        params["sort"] = sort
    if cursor:
        params["cursor"] = cursor
    try:
        page = container().tasks.search(upstream_token(request), params)
        problem = None
    except UpstreamError as exc:
        page, problem = None, str(exc)

    base = {**filters, **({"sort": sort} if sort else {}), "limit": str(limit)}

    def link(**extra: str) -> str:
        return "?" + urlencode({**base, **{k: v for k, v in extra.items() if v}})

    next_link = previous_link = None
    if page is not None and page.next_cursor:
        next_link = link(cursor=page.next_cursor, trail=".".join([*trail, cursor or "-"]))
    if cursor:
        back = trail[-1] if trail else ""
        previous_link = link(cursor="" if back == "-" else back, trail=".".join(trail[:-1]))
    due_sort = "-due_at" if sort == "due_at" else "due_at"
    now = timezone.now()
    rows = [_row(task, now) for task in page.tasks] if page else []
    return render_page(
        request,
        "taskflow_admin/console/tasks.html",
        "Tasks",
        {
            "page": page,
            "rows": rows,
            "problem": problem,
            "filters": filters,
            "sort": sort,
            "limit": limit,
            "page_sizes": PAGE_SIZES,
            "statuses": STATUSES,
            "priorities": PRIORITIES,
            "bulk_actions": BULK_ACTIONS.items(),
            "due_sort_link": link(sort=due_sort),
            "next_link": next_link,
            "previous_link": previous_link,
            "here": request.get_full_path(),
        },
    )


def _row(task: dict[str, Any], now: datetime) -> dict[str, Any]:
    due = _parse_time(task.get("due_at"))
    open_ = task.get("status") in ("todo", "in_progress")
    return {
        **task,
        "due": due,
        "overdue": bool(due and open_ and due < now and not task.get("deleted_at")),
    }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@require_POST
def task_bulk(request: HttpRequest) -> HttpResponse:
    back = request.POST.get("next", "")
    if not back.startswith("/admin/tasks/"):
        back = reverse("taskflow_admin_tasks")
    action = request.POST.get("action", "")
    ids = [i for i in request.POST.getlist("ids") if _is_uuid(i)][:500]
    if action not in BULK_ACTIONS or not ids:
        messages.error(request, "Choose some tasks and an action.")
        return HttpResponseRedirect(back)
    body: dict[str, Any] = {"ids": ids, "action": action}
    if action == "set_priority":
        body["priority"] = request.POST.get("priority", "")
    if action == "reassign":
        body["assignee_id"] = request.POST.get("assignee_id", "").strip() or None
    try:
        results = container().tasks.bulk(upstream_token(request), body)
    except UpstreamError as exc:
        messages.error(request, f"Nothing changed: {exc}")
        return HttpResponseRedirect(back)
    done = [r for r in results if r.get("ok")]
    failed = [r for r in results if not r.get("ok")]
    record_action(
        actor_of(request),
        action=f"task.bulk.{action}",
        target_type="task",
        target_id=ids[0] if len(ids) == 1 else "",
        before=None,
        after={k: v for k, v in body.items() if k != "ids"},
        detail={"ids": ids, "results": results},
    )
    if done:
        messages.success(request, f"{BULK_ACTIONS[action]}: {len(done)} task(s) changed.")
    for result in failed[:10]:
        problem = result.get("problem") or {}
        messages.warning(
            request, f"Task {result.get('id')}: {problem.get('detail') or problem.get('title')}"
        )
    return HttpResponseRedirect(back)


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


class TaskForm(forms.Form):
    """The fields an administrator edits. Validation is the task API's own (TaskUpdate): the
    form only parses, so what the API refuses is shown beside the field it names."""

    title = forms.CharField(required=False, strip=False)
    description = forms.CharField(widget=forms.Textarea, required=False, strip=False)
    status = forms.ChoiceField(choices=[(s, s) for s in STATUSES])
    priority = forms.ChoiceField(choices=[(p, p) for p in PRIORITIES])
    due_at = forms.DateTimeField(required=False, help_text="e.g. 2026-12-31 17:00 (UTC)")
    assignee_id = forms.CharField(required=False)
    labels = forms.CharField(required=False, help_text="comma-separated")

    @classmethod
    def initial_from(cls, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "title": task.get("title"),
            "description": task.get("description") or "",
            "status": task.get("status"),
            "priority": task.get("priority"),
            # The form shows whole seconds: so must what it is compared with.
            "due_at": due.replace(microsecond=0)
            if (due := _parse_time(task.get("due_at")))
            else None,
            "assignee_id": task.get("assignee_id") or "",
            "labels": ", ".join(task.get("labels") or []),
        }

    def changes(self) -> dict[str, Any]:
        """Only what the administrator changed (Django's changed_data), as a merge patch."""
        data = self.cleaned_data
        wanted: dict[str, Any] = {
            "title": data["title"],
            "description": data["description"] or None,
            "status": data["status"],
            "priority": data["priority"],
            "due_at": data["due_at"].isoformat() if data["due_at"] else None,
            "assignee_id": data["assignee_id"].strip() or None,
            "labels": [x.strip() for x in data["labels"].split(",") if x.strip()],
        }
        return {name: wanted[name] for name in self.changed_data}


# The API's field names, where a problem's `loc` ends (["body", "due_at"]).
def _attach_errors(form: TaskForm, problem: UpstreamError) -> None:
    for error in problem.field_errors:
        loc = error.get("loc") or []
        name = str(loc[-1]) if loc else ""
        message = str(error.get("msg") or "invalid")
        form.add_error(name if name in form.fields else None, message)
    if not problem.field_errors:
        form.add_error(None, str(problem))


def task_change(request: HttpRequest, task_id: UUID) -> HttpResponse:
    api = container().tasks
    token = upstream_token(request)
    try:
        task, etag = api.get(token, str(task_id))
    except UpstreamError as exc:
        if exc.status == 404:
            raise Http404("No such task.") from exc
        raise
    form = TaskForm(request.POST or None, initial=TaskForm.initial_from(task))
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, "Nothing to change.")
            return HttpResponseRedirect(request.get_full_path())
        try:
            updated = api.update(token, str(task_id), changes, request.POST.get("etag") or etag)
        except UpstreamError as exc:
            if exc.status == 412:
                form.add_error(None, "Someone changed this task meanwhile: reload it first.")
            else:
                _attach_errors(form, exc)
        else:
            record_action(
                actor_of(request),
                action="task.update",
                target_type="task",
                target_id=str(task_id),
                before={k: task.get(k) for k in changes},
                after={k: updated.get(k) for k in changes},
            )
            messages.success(request, f"Saved “{updated.get('title')}”.")
            return HttpResponseRedirect(reverse("taskflow_admin_task", args=[task_id]))
    return render_page(
        request,
        "taskflow_admin/console/task.html",
        f"Task {task.get('title')}",
        {"task": task, "form": form, "etag": etag},
    )


urlpatterns = [
    path("admin/tasks/", admin.site.admin_view(task_list), name="taskflow_admin_tasks"),
    path("admin/tasks/bulk/", admin.site.admin_view(task_bulk), name="taskflow_admin_tasks_bulk"),
    path(
        "admin/tasks/<uuid:task_id>/",
        admin.site.admin_view(task_change),
        name="taskflow_admin_task",
    ),
]

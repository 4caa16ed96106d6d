"""How tasks, suggestions and live frames look in a terminal (rich) and as JSON (scripts)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

from taskflow_sdk.cli.dates import shown
from taskflow_sdk.live import AccessChanged, LiveFrame, NotificationReceived, Resync, TaskChanged
from taskflow_sdk.models import PlanPublic, SuggestionPublic
from taskflow_sdk.types import Task

PRIORITY_STYLE = {
    "urgent": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "none": "dim",
}
STATUS_STYLE = {"todo": "", "in_progress": "blue", "done": "green", "cancelled": "dim"}
SHORTEST_ID = 8


def short_ids(tasks: Sequence[Task]) -> dict[str, str]:
    """Each id's shortest prefix (8 characters at least) that no other listed id shares."""
    ids = [str(t.id) for t in tasks]
    result = {}
    for task_id in ids:
        length = SHORTEST_ID
        while length < len(task_id) and any(
            other != task_id and other.startswith(task_id[:length]) for other in ids
        ):
            length += 1
        result[task_id] = task_id[:length]
    return result


def task_json(task: Task) -> dict[str, Any]:
    data: dict[str, Any] = task.model_dump(mode="json")
    if task.etag:
        data["etag"] = task.etag
    return data


def print_json(console: Console, value: Any) -> None:
    console.print_json(json.dumps(value), indent=2)


def task_table(tasks: Sequence[Task], zone: ZoneInfo) -> Table:
    now = datetime.now(UTC)
    ids = short_ids(tasks)
    table = Table(show_edge=False, header_style="bold")
    for column in ("ID", "Title", "Status", "Priority", "Due", "Labels"):
        table.add_column(column, overflow="fold")
    for task in tasks:
        overdue = (
            task.due_at is not None and task.due_at < now and task.status in {"todo", "in_progress"}
        )
        table.add_row(
            Text(ids[str(task.id)], style="dim"),
            Text(task.title, style="strike dim" if task.deleted_at else ""),
            Text(task.status, style=STATUS_STYLE.get(task.status, "")),
            Text(task.priority, style=PRIORITY_STYLE.get(task.priority, "")),
            Text(shown(task.due_at, zone), style="bold red" if overdue else ""),
            ", ".join(task.labels),
        )
    return table


def task_detail(task: Task, zone: ZoneInfo) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: Iterable[tuple[str, str | Text]] = (
        ("id", str(task.id)),
        ("title", task.title),
        ("status", Text(task.status, style=STATUS_STYLE.get(task.status, ""))),
        ("priority", Text(task.priority, style=PRIORITY_STYLE.get(task.priority, ""))),
        ("due", shown(task.due_at, zone)),
        ("labels", ", ".join(task.labels)),
        ("project", str(task.project_id or "")),
        ("description", task.description),
        ("created", shown(task.created_at, zone)),
        ("updated", shown(task.updated_at, zone)),
        ("deleted", shown(task.deleted_at, zone)),
        ("etag", task.etag or ""),
    )
    for name, value in rows:
        if value:
            table.add_row(name, value)
    return table


def suggestion_text(suggestion: SuggestionPublic) -> Text:
    text = Text("suggested priority: ")
    text.append(suggestion.priority, style=PRIORITY_STYLE.get(suggestion.priority, ""))
    text.append(f"  ({suggestion.confidence:.0%} confident, {suggestion.source})\n")
    text.append(suggestion.rationale)
    return text


def plan_table(plan: PlanPublic) -> Table:
    table = Table(show_edge=False, header_style="bold")
    for column in ("#", "ID", "Title", "Why"):
        table.add_column(column, overflow="fold")
    for item in plan.data:
        table.add_row(str(item.rank), item.task_id[:SHORTEST_ID], item.title, item.reason)
    return table


def frame_json(frame: LiveFrame) -> dict[str, Any]:
    if isinstance(frame, TaskChanged):
        return {
            "type": "task.changed",
            "change": frame.change,
            "task": frame.task,
            "changed_fields": frame.changed_fields,
            "sync_token": frame.sync_token,
        }
    if isinstance(frame, NotificationReceived):
        return {"type": "notification", **frame.notification, "sync_token": frame.sync_token}
    if isinstance(frame, AccessChanged):
        return {"type": "access.changed", **frame.data, "sync_token": frame.sync_token}
    return {"type": "resync", "reason": frame.reason, "sync_token": frame.sync_token}


def frame_text(frame: LiveFrame, zone: ZoneInfo) -> Text:
    stamp = datetime.now(zone).strftime("%H:%M:%S")
    line = Text(f"{stamp}  ", style="dim")
    if isinstance(frame, TaskChanged):
        line.append(f"{frame.change:<9}", style="bold")
        line.append(str(frame.task.get("title", frame.task.get("id", ""))))
        if frame.changed_fields:
            line.append(f"  ({', '.join(frame.changed_fields)})", style="dim")
    elif isinstance(frame, NotificationReceived):
        line.append("notice   ", style="bold magenta")
        line.append(str(frame.notification.get("title", "")))
    elif isinstance(frame, AccessChanged):
        line.append("access   ", style="bold")
        line.append(json.dumps(frame.data))
    elif isinstance(frame, Resync):
        line.append("resync   ", style="bold yellow")
        line.append("some changes could not be replayed: run `taskflow ls` to refresh")
    return line

"""Task export formats: JSON, CSV (spreadsheet-safe) and iCalendar VTODO (RFC 5545)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime

from taskflow_tasks.domain.model import Priority, Status, Task
from taskflow_tasks.interfaces.http.schemas import dump, task_dict

CSV_COLUMNS = (
    "id",
    "title",
    "description",
    "status",
    "priority",
    "due_at",
    "start_at",
    "completed_at",
    "labels",
    "project_id",
    "assignee_id",
    "parent_id",
    "recurrence",
    "reminders",
    "position",
    "version",
    "created_at",
    "updated_at",
)
_ICS_STATUS = {
    Status.TODO: "NEEDS-ACTION",
    Status.IN_PROGRESS: "IN-PROCESS",
    Status.DONE: "COMPLETED",
    Status.CANCELLED: "CANCELLED",
}
# RFC 5545: 1 is the highest priority, 9 the lowest, 0 undefined.
_ICS_PRIORITY = {
    Priority.NONE: 0,
    Priority.LOW: 9,
    Priority.MEDIUM: 5,
    Priority.HIGH: 3,
    Priority.URGENT: 1,
}


def as_json(tasks: Sequence[Task]) -> bytes:
    return dump({"data": [task_dict(task) for task in tasks]})


def as_csv(tasks: Sequence[Task]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for task in tasks:
        row = task_dict(task)
        row["labels"] = ";".join(task.labels)
        row["reminders"] = ";".join(task.reminders)
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    # A cell starting with = + - @ is a formula to spreadsheet apps: neutralise it.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def as_ics(tasks: Sequence[Task], now: datetime | None = None) -> bytes:
    stamp = _ics_time(now or datetime.now(UTC))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//TaskFlow//Tasks//EN",
        "CALSCALE:GREGORIAN",
    ]
    for task in tasks:
        lines += ["BEGIN:VTODO", f"UID:{task.id}@taskflow", f"DTSTAMP:{stamp}"]
        lines.append(f"CREATED:{_ics_time(task.created_at)}")
        lines.append(f"LAST-MODIFIED:{_ics_time(task.updated_at)}")
        lines.append(f"SUMMARY:{_ics_text(task.title)}")
        if task.description:
            lines.append(f"DESCRIPTION:{_ics_text(task.description)}")
        lines.append(f"STATUS:{_ICS_STATUS[task.status]}")
        lines.append(f"PRIORITY:{_ICS_PRIORITY[task.priority]}")
        if task.start_at and (task.due_at is None or task.start_at < task.due_at):
            lines.append(f"DTSTART:{_ics_time(task.start_at)}")
        if task.due_at:
            lines.append(f"DUE:{_ics_time(task.due_at)}")
        if task.completed_at:
            lines.append(f"COMPLETED:{_ics_time(task.completed_at)}")
        if task.labels:
            lines.append("CATEGORIES:" + ",".join(_ics_text(label) for label in task.labels))
        if task.recurrence and (task.due_at or task.start_at):
            lines.append(f"RRULE:{task.recurrence}")
        if task.due_at:
            for offset in task.reminders:
                lines += [
                    "BEGIN:VALARM",
                    "ACTION:DISPLAY",
                    f"DESCRIPTION:{_ics_text(task.title)}",
                    f"TRIGGER;RELATED=END:-{offset}",
                    "END:VALARM",
                ]
        lines.append("END:VTODO")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")


def _ics_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = 75 if not parts else 74
        if size + width > limit:
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)

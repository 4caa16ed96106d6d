"""Task export formats: JSON, CSV (spreadsheet-safe) and iCalendar VTODO (RFC 5545)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Todo, vRecur

from taskflow_tasks.domain.model import Priority, Status, Task
from taskflow_tasks.domain.reminders import fire_time, parse_offset
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
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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
    """One VCALENDAR of VTODOs; escaping, folding and value formats are icalendar's (RFC 5545)."""
    calendar = Calendar()
    calendar.add("prodid", "-//TaskFlow//Tasks//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    for task in tasks:
        calendar.add_component(_todo(task, stamp))
    return calendar.to_ical()


def _todo(task: Task, stamp: datetime) -> Todo:
    todo = Todo()
    todo.add("uid", f"{task.id}@taskflow")
    todo.add("dtstamp", stamp)
    todo.add("created", _utc(task.created_at))
    todo.add("last-modified", _utc(task.updated_at))
    todo.add("summary", _text(task.title))
    if task.description:
        todo.add("description", _text(task.description))
    todo.add("status", _ICS_STATUS[task.status])
    todo.add("priority", _ICS_PRIORITY[task.priority])
    if task.start_at and (task.due_at is None or task.start_at < task.due_at):
        todo.add("dtstart", _utc(task.start_at))
    if task.due_at:
        todo.add("due", _utc(task.due_at))
    if task.completed_at:
        todo.add("completed", _utc(task.completed_at))
    if task.labels:
        todo.add("categories", [_text(label) for label in task.labels])
    if task.recurrence and (task.due_at or task.start_at):
        todo.add("rrule", vRecur.from_ical(task.recurrence))
    if task.due_at:
        for offset in task.reminders:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", _text(task.title))
            _add_trigger(alarm, task.due_at, offset)
            todo.add_component(alarm)
    return todo


def _add_trigger(alarm: Alarm, due_at: datetime, offset: str) -> None:
    """A fixed offset before DUE; a calendar one (P1M, P1Y), which RFC 5545 durations cannot
    express, as the absolute moment it fires."""
    span = parse_offset(offset)
    if isinstance(span, timedelta):
        alarm.add("trigger", -span, parameters={"RELATED": "END"})
    else:
        alarm.add("trigger", _utc(fire_time(due_at, offset)))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _text(text: str) -> str:
    """RFC 5545 TEXT allows no control characters but tab and line breaks: drop the rest
    (stored titles may hold them; calendar apps refuse or mangle the whole file)."""
    return _CONTROL.sub("", text)

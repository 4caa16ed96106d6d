"""Reminders: ISO 8601 durations before a task's due_at, and when each one fires."""

from __future__ import annotations

import re
from datetime import datetime

from dateutil.relativedelta import relativedelta

MAX_REMINDERS = 10
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_MAX_YEARS = 5


class InvalidReminder(ValueError):
    pass


def parse_offset(text: str) -> relativedelta:
    """An ISO 8601 duration such as PT30M, P1D or P1DT2H, as a positive relativedelta."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidReminder(f"{text!r} is not an ISO 8601 duration such as PT30M or P1D")
    parts = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    weeks = parts.pop("weeks", 0)
    parts["days"] = parts.get("days", 0) + 7 * weeks
    offset = relativedelta(**parts)
    probe = datetime(2000, 1, 1)
    if probe - offset >= probe:
        raise InvalidReminder(f"{text!r} must be longer than zero")
    if probe - offset < probe - relativedelta(years=_MAX_YEARS):
        raise InvalidReminder(f"{text!r} is more than {_MAX_YEARS} years before the due date")
    return offset


def normalize_reminders(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Upper-cased, de-duplicated (first one kept), at most MAX_REMINDERS; each must parse."""
    seen: dict[str, None] = {}
    for raw in values:
        text = raw.strip().upper()
        parse_offset(text)
        seen.setdefault(text, None)
    if len(seen) > MAX_REMINDERS:
        raise InvalidReminder(f"at most {MAX_REMINDERS} reminders")
    return tuple(seen)


def fire_time(due_at: datetime, offset: str) -> datetime:
    """When the reminder `offset` before due_at fires."""
    moment: datetime = due_at - parse_offset(offset)
    return moment


def fire_times(due_at: datetime | None, offsets: tuple[str, ...]) -> dict[str, datetime]:
    if due_at is None:
        return {}
    return {offset: fire_time(due_at, offset) for offset in offsets}

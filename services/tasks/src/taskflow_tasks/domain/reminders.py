"""Reminders: ISO 8601 durations before a task's due_at, and when each one fires.

isodate parses the duration (calendar years and months stay calendar units); the grammar
check in front of it keeps to the subset a reminder needs (whole ASCII numbers, no sign, no
fractions); the result is bounded on fixed reference dates before it is used, and numbers
too large for datetime arithmetic count as "too long", never as an OverflowError.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

import isodate

MAX_REMINDERS = 10
# A demanding user plans a year ahead (a leap year included), not further.
MAX_OFFSET = timedelta(days=366)
MAX_OFFSET_TEXT = "366 days"
_DIGITS = "[0-9]+"  # ASCII only: \d would take any Unicode digit
_DURATION = re.compile(
    rf"^P(?!$)(?:{_DIGITS}Y)?(?:{_DIGITS}M)?(?:{_DIGITS}W)?(?:{_DIGITS}D)?"
    rf"(?:T(?=[0-9])(?:{_DIGITS}H)?(?:{_DIGITS}M)?(?:{_DIGITS}S)?)?$"
)
# Fixed reference moments for the bound: calendar units measured where they are longest.
_PROBES = (datetime(2000, 3, 1, tzinfo=UTC), datetime(2001, 1, 1, tzinfo=UTC))

Offset: TypeAlias = timedelta | isodate.Duration


class InvalidReminder(ValueError):
    pass


def parse_offset(text: str) -> Offset:
    """An ISO 8601 duration such as PT30M, P1D or P1DT2H, longer than zero, at most 366 days."""
    shown = repr(text[:64])
    if not _DURATION.match(text):
        raise InvalidReminder(f"{shown} is not an ISO 8601 duration such as PT30M or P1D")
    try:
        offset: Offset = isodate.parse_duration(text)
    except OverflowError:
        raise InvalidReminder(f"{shown} is longer than {MAX_OFFSET_TEXT}") from None
    except (isodate.ISO8601Error, ValueError) as exc:
        raise InvalidReminder(f"{shown} is not an ISO 8601 duration: {exc}") from None
    for probe in _PROBES:
        try:
            earlier: datetime = probe - offset
            span = probe - earlier
        except (OverflowError, ValueError):
            raise InvalidReminder(f"{shown} is longer than {MAX_OFFSET_TEXT}") from None
        if span <= timedelta(0):
            raise InvalidReminder(f"{shown} must be longer than zero")
        if span > MAX_OFFSET:
            raise InvalidReminder(f"{shown} is longer than {MAX_OFFSET_TEXT}")
    return offset


def normalize_reminders(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Upper-cased, de-duplicated (first one kept), at most MAX_REMINDERS; each must parse."""
    if len(values) > 5 * MAX_REMINDERS:  # refuse before parsing a flood of them
        raise InvalidReminder(f"at most {MAX_REMINDERS} reminders")
    seen: dict[str, None] = {}
    for raw in values:
        if not isinstance(raw, str):
            raise InvalidReminder("reminders must be strings such as PT30M")
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

"""Recurrence rules (RFC 5545 RRULE) through dateutil: validation and the next occurrence."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

MAX_RULE_LENGTH = 500
# Sub-hourly rules make no sense for tasks and would let one completion spawn a flood.
_ALLOWED_FREQUENCIES = {YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY}
_FORBIDDEN_PARTS = re.compile(r"(^|;)\s*(DTSTART|RDATE|EXDATE|EXRULE)", re.IGNORECASE)
_COUNT_OR_UNTIL = re.compile(r"(^|;)(COUNT|UNTIL)=[^;]*", re.IGNORECASE)
# Well-formed rules can match nothing (BYMONTH=2;BYMONTHDAY=30) and dateutil then searches up
# to year 9999, which takes seconds: a denial of service. Feasibility is therefore probed on a
# copy of the rule started near year 9999 (same position in the 28-year calendar cycle), so
# that search ends after a few decades at most.
_PROBE_CYCLE_BASE = 9940  # a multiple of 28, with no century year between it and 9999
# A demanding user's limits: every 1000th period at most, a series of at most 10,000 tasks.
MAX_INTERVAL = 1_000
MAX_COUNT = 10_000
# Fixed-length periods: a rule of these frequencies repeats exactly every INTERVAL strides, so
# its walk may start a whole number of periods later without changing any later occurrence.
_PERIODS = {HOURLY: timedelta(hours=1), DAILY: timedelta(days=1), WEEKLY: timedelta(weeks=1)}
# dateutil raises these for values it parses but cannot evaluate (BYHOUR=25, BYEASTER=10**8).
_RULE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)


class InvalidRecurrence(ValueError):
    pass


def normalize_rule(value: str, anchor: datetime) -> str:
    """The rule without an 'RRULE:' prefix, upper-cased; InvalidRecurrence if unusable."""
    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text or len(text) > MAX_RULE_LENGTH or "\n" in text or "\r" in text:
        raise InvalidRecurrence("must be one RRULE line of at most 500 characters")
    if _FORBIDDEN_PARTS.search(text):
        raise InvalidRecurrence("only the RRULE value is accepted (no DTSTART, RDATE, EXDATE)")
    text = text.upper()
    rule = _parse(text, anchor.astimezone(UTC))
    if rule._freq not in _ALLOWED_FREQUENCIES:
        raise InvalidRecurrence("FREQ must be YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY")
    if rule._interval > MAX_INTERVAL:
        raise InvalidRecurrence(f"INTERVAL must be at most {MAX_INTERVAL}")
    if rule._count is not None and not 1 <= rule._count <= MAX_COUNT:
        raise InvalidRecurrence(f"COUNT must be 1 to {MAX_COUNT}")
    _require_feasible(text, anchor.astimezone(UTC))
    return text


def next_occurrence(rule_text: str, *, series_start: datetime, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after` of the series starting at series_start."""
    start, after = series_start.astimezone(UTC), after.astimezone(UTC)
    rule = _parse(rule_text, start)
    # dateutil walks from the series start one period at a time: completing an hourly task due
    # in 1900 would take seconds. Without COUNT (which counts from the first occurrence), a
    # fixed-period walk may begin one period before `after` and yields the same occurrences.
    period = _PERIODS.get(rule._freq)
    if period is not None and rule._count is None and after > start:
        stride = period * rule._interval
        skipped = (after - start) // stride - 1
        if skipped > 0:
            rule = _parse(rule_text, start + stride * skipped)
    found = rule.after(after, inc=False)
    return found.astimezone(UTC) if found is not None else None


def _require_feasible(text: str, anchor: datetime) -> None:
    unbounded = _COUNT_OR_UNTIL.sub("", text).strip(";")
    probe_start = anchor.replace(year=_PROBE_CYCLE_BASE + anchor.year % 28)
    probe = _parse(unbounded, probe_start)
    try:
        found = probe.after(probe_start, inc=True)
    except _RULE_ERRORS as exc:
        raise InvalidRecurrence(f"not a valid RRULE: {exc}") from exc
    if found is None:
        raise InvalidRecurrence("the rule never produces an occurrence")


def _parse(text: str, dtstart: datetime) -> rrule:
    try:
        rule = rrulestr(text, dtstart=dtstart, forceset=False)
    except _RULE_ERRORS as exc:
        raise InvalidRecurrence(f"not a valid RRULE: {exc}") from exc
    if not isinstance(rule, rrule):
        raise InvalidRecurrence("not a single RRULE")
    return rule

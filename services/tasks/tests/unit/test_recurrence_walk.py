"""The next occurrence of a long-running series is found without walking from its start.

Completing an hourly task whose series began in 1900 made dateutil step through a million
hours (seconds of CPU per request; from year one, minutes). The shortened walk must give
exactly what the full walk gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from taskflow_tasks.domain.recurrence import next_occurrence

RULES = [
    "FREQ=HOURLY",
    "FREQ=HOURLY;INTERVAL=7",
    "FREQ=HOURLY;INTERVAL=5;BYMINUTE=0,30",
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3;BYHOUR=9,17",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=28,29",
    "FREQ=WEEKLY;BYDAY=MO,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=SU",
    "FREQ=WEEKLY;INTERVAL=3;UNTIL=20300101T000000Z",
    "FREQ=MONTHLY;BYDAY=-1FR",
]

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)).map(
    lambda moment: moment.replace(microsecond=0, tzinfo=UTC)
)


def full_walk(rule: str, start: datetime, after: datetime) -> datetime | None:
    found = rrulestr(rule, dtstart=start).after(after, inc=False)
    return found.astimezone(UTC) if found is not None else None


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(RULES), start=instants, gap=st.integers(0, 4_000 * 24 * 3600))
def test_the_shortened_walk_finds_what_the_full_walk_finds(
    rule: str, start: datetime, gap: int
) -> None:
    after = start + timedelta(seconds=gap)
    assert next_occurrence(rule, series_start=start, after=after) == full_walk(rule, start, after)


def test_an_hourly_series_from_year_one_answers_for_today() -> None:
    start = datetime(1, 1, 1, 8, 15, tzinfo=UTC)
    after = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert next_occurrence("FREQ=HOURLY", series_start=start, after=after) == datetime(
        2026, 12, 4, 10, 15, tzinfo=UTC
    )


def test_a_counted_series_still_ends_after_its_count() -> None:
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    rule = "FREQ=DAILY;COUNT=3"
    assert next_occurrence(rule, series_start=start, after=datetime(2026, 1, 2, 9, tzinfo=UTC)) == (
        datetime(2026, 1, 3, 9, tzinfo=UTC)
    )
    last = datetime(2026, 1, 3, 9, tzinfo=UTC)
    assert next_occurrence(rule, series_start=start, after=last) is None

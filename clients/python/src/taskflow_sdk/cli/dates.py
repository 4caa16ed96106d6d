"""Natural-language dates ("tomorrow 17:00", "in 2 hours", "fri 9am") in the user's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser
import tzlocal


class DateError(ValueError):
    pass


def local_zone(name: str | None = None) -> ZoneInfo:
    """The zone named, else the machine's (TZ, /etc/localtime), else UTC."""
    try:
        return ZoneInfo(name or tzlocal.get_localzone_name() or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DateError(f"unknown time zone {name!r}") from exc


def parse_when(text: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """An aware datetime for `text` read in `zone`; future dates preferred ("friday")."""
    base = (now or datetime.now(UTC)).astimezone(zone).replace(tzinfo=None)
    parsed = dateparser.parse(
        text,
        settings={
            "TIMEZONE": zone.key,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": base,
        },
    )
    if parsed is None:
        raise DateError(
            f"cannot read {text!r} as a date (try 'tomorrow 17:00' or '2026-12-24 09:00')"
        )
    return parsed


def shown(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M") if moment else ""

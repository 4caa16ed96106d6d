"""`taskflow` against the embedded suite (what `make run` serves), each command a process."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from taskflow_sdk import TaskFlow

from ..conftest import Cli  # type: ignore[import-not-found]

pytestmark = pytest.mark.integration


def test_a_session_from_login_to_export(embedded_gateway: str, tmp_path: Path) -> None:
    with TaskFlow(embedded_gateway) as phone:
        phone.register("grace-cli", "grace-cli@example.test", "correct-horse-battery")
        phone.login("grace-cli", "correct-horse-battery")
        cli = Cli(embedded_gateway, tmp_path, tz="America/New_York")
        cli.ok("login", "--username", "grace-cli", TASKFLOW_PASSWORD="correct-horse-battery")

        before = datetime.now(ZoneInfo(cli.tz))
        task = cli.json("add", "Write report", "--due", "tomorrow 17:00", "-p", "high")
        due = datetime.fromisoformat(task["due_at"]).astimezone(ZoneInfo(cli.tz))
        assert (due.date(), due.hour) == ((before + timedelta(days=1)).date(), 17)
        assert "Write report" in cli.ok("ls")
        assert [t["title"] for t in cli.json("ls")] == ["Write report"]

        prefix = task["id"][:14]
        etag = cli.json("show", prefix)["etag"]
        phone.tasks.update(task["id"], title="Write the report")
        stale = cli("edit", prefix, "--priority", "low", "--etag", etag)
        assert stale.returncode == 5
        assert "changed since it was read" in " ".join(stale.stderr.split())

        cli.ok("done", prefix)
        calendar = icalendar.Calendar.from_ical(cli.ok("export", "--format", "ics"))
        todos = {str(c.get("summary")): c for c in calendar.walk("VTODO")}
        assert str(todos["Write the report"].get("status")) == "COMPLETED"

        cli.ok("logout")
        assert cli("ls").returncode == 3

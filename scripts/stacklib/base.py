"""The shape every stack component shares."""

from __future__ import annotations

from pathlib import Path

from .core import HOST, STATE, live_pid, port_open, rel, terminate


class Component:
    """One piece of the local stack: how to install, start, probe and stop it."""

    name = ""
    ports: dict[str, int] = {}
    requires: tuple[str, ...] = ()  # components that must be ready before this one starts
    is_service = True  # False for CLI-only tools (helm)
    start_note = ""  # appended to "starting", e.g. "(first start builds, ~60 s)"
    start_timeout = 60.0
    pid_grace = 2.0  # seconds after start during which a missing pid is not yet a failure
    spawned = True  # we started it with spawn(): stop its whole process group
    marker = ""  # substring of the process command line proving the pid is really ours

    @property
    def dir(self) -> Path:
        return STATE / self.name

    @property
    def log_file(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.dir / f"{self.name}.pid"

    # -- to override ----------------------------------------------------------------
    def installed(self) -> bool:
        raise NotImplementedError

    def install(self) -> None:
        raise NotImplementedError

    def install_note(self) -> str:
        return ""

    def version(self) -> str:
        return ""

    def starting_note(self) -> str:
        return self.start_note

    def ready(self) -> bool:
        return all(port_open(port) for port in self.ports.values())

    def start(self) -> None:
        raise NotImplementedError

    def after_ready(self) -> None:
        """Idempotent set-up once the service answers (roles, databases...)."""

    def restart_reason(self) -> str | None:
        """Why a running instance must be restarted to match the checkout (None: it need not)."""
        return None

    def detail(self) -> str:
        return rel(self.dir)

    # -- shared behaviour -----------------------------------------------------------
    def pid(self) -> int | None:
        return live_pid(self.pid_file, self.marker or self.name)

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, group=self.spawned)
        self.pid_file.unlink(missing_ok=True)

    def clear_stale(self) -> None:
        """Forget a pid file whose process is gone."""
        if self.pid() is None:
            self.pid_file.unlink(missing_ok=True)

    def busy_ports(self) -> list[int]:
        return [port for port in self.ports.values() if port_open(port)]

    def state(self) -> tuple[str, int | None]:
        if not self.installed():
            return "not installed", None
        if not self.is_service:
            return "installed", None
        pid = self.pid()
        if pid is not None:
            return ("running" if self.ready() else "starting"), pid
        if self.busy_ports():
            return "port busy", None  # something scripts/stack did not start holds the port
        return "stopped", None

    def ports_text(self) -> str:
        if not self.ports:
            return "-"
        if len(self.ports) == 1:
            return f"{HOST}:{next(iter(self.ports.values()))}"
        return " ".join(f"{label}={HOST}:{port}" for label, port in self.ports.items())

    def ready_text(self) -> str:
        ports = list(self.ports.values())
        extra = "".join(f", :{port}" for port in ports[1:])
        return f"{HOST}:{ports[0]}{extra}" if ports else ""

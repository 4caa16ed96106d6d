"""up / down / status / logs / env / reset: the orchestration over the components."""

from __future__ import annotations

import os
import shutil
import threading
import time

from .base import Component
from .core import BIN, CACHE, HOST, STATE, StackError, file_lock, rel, say, tail
from .keycloak import ISSUER, Keycloak
from .postgres import PORT as PG_PORT
from .postgres import Postgres
from .rabbitmq import AMQP_PORT, MANAGEMENT_PORT, RabbitMQ
from .simple import (
    REDIS_PORT,
    Actionlint,
    Chromium,
    Helm,
    Jaeger,
    Mailpit,
    Promtool,
    ReadmeGenerator,
    Redis,
)

# Start order; `down` goes in reverse. Keycloak last: it needs Postgres and is the slowest.
COMPONENTS: dict[str, Component] = {
    c.name: c
    for c in (
        Postgres(),
        Redis(),
        RabbitMQ(),
        Mailpit(),
        Jaeger(),
        Helm(),
        Actionlint(),
        Promtool(),
        Chromium(),
        ReadmeGenerator(),
        Keycloak(),
    )
}


def select(names: list[str], *, with_requirements: bool) -> list[Component]:
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown:
        raise StackError(
            f"unknown component(s) {', '.join(unknown)}; choose from {', '.join(COMPONENTS)}"
        )
    wanted = set(names or COMPONENTS)
    if with_requirements:
        for name in list(wanted):
            wanted.update(COMPONENTS[name].requires)
    return [c for name, c in COMPONENTS.items() if name in wanted]


def _install_missing(components: list[Component]) -> list[str]:
    """Install what is missing; returns failure messages (the rest of the stack still starts)."""
    missing = [c for c in components if not c.installed()]
    if not missing:
        return []
    failures = []
    # one install at a time per machine: the tool cache is shared by every checkout
    with file_lock(CACHE / "install.lock", "installing"):
        for comp in missing:
            if comp.installed():  # another checkout installed it while we waited
                continue
            note = comp.install_note()
            say(f"{comp.name}: installing ({note})…" if note else f"{comp.name}: installing…")
            started = time.monotonic()
            try:
                comp.install()
                if not comp.installed():
                    raise StackError("install finished but the component is still missing")
            except StackError as exc:
                failures.append(f"{comp.name}: install failed: {exc}")
                say(failures[-1])
                continue
            say(f"{comp.name}: installed ({time.monotonic() - started:.1f} s)")
    return failures


def _wait(pending: list[tuple[Component, float]]) -> list[str]:
    """Poll every starting component until ready; returns failure messages."""
    failures: list[str] = []
    while pending:
        for comp, started in list(pending):
            elapsed = time.monotonic() - started
            problem = None
            if comp.pid() is None and elapsed > comp.pid_grace:
                problem = "exited during start-up"
            elif comp.ready():
                comp.after_ready()
                say(f"{comp.name}: ready on {comp.ready_text()} ({elapsed:.1f} s)")
                pending.remove((comp, started))
                continue
            elif elapsed > comp.start_timeout:
                problem = f"not ready after {comp.start_timeout:.0f} s"
            if problem:
                last = "\n".join(f"    {line}" for line in tail(comp.log_file, 8))
                log = rel(comp.log_file)
                message = f"{comp.name}: {problem}; see {log} (`scripts/stack logs {comp.name}`)"
                say(message + (f"\n{last}" if last else ""))
                failures.append(message)
                pending.remove((comp, started))
        if pending:
            time.sleep(0.25)
    return failures


def up(names: list[str]) -> int:
    components = select(names, with_requirements=True)
    total = time.monotonic()
    with file_lock(STATE / "stack.lock", "up/down"):
        failures = _install_missing(components)
        pending: list[tuple[Component, float]] = []
        for comp in components:
            if not comp.installed():
                continue  # its install failure is already reported
            if not comp.is_service:
                say(f"{comp.name}: {comp.version()}")
                continue
            if any(p.name in comp.requires for p, _ in pending):
                failures += _wait([item for item in pending if item[0].name in comp.requires])
                pending = [item for item in pending if item[0].name not in comp.requires]
            if any(COMPONENTS[r].pid() is None for r in comp.requires):
                failures.append(f"{comp.name}: not started, it needs {', '.join(comp.requires)}")
                say(failures[-1])
                continue
            pid = comp.pid()
            if pid is not None and comp.ready():
                reason = comp.restart_reason()
                if reason is None:
                    comp.after_ready()
                    say(f"{comp.name}: already running on {comp.ready_text()} (pid {pid})")
                    continue
                say(f"{comp.name}: restarting, {reason}…")
                comp.stop()
            elif pid is not None:
                say(f"{comp.name}: already starting (pid {pid}), waiting…")
                pending.append((comp, time.monotonic()))
                continue
            busy = comp.busy_ports()
            if busy:
                failures.append(
                    f"{comp.name}: port(s) {', '.join(map(str, busy))} on {HOST} are held by a "
                    "process this checkout's scripts/stack did not start (another checkout's "
                    "stack?); stop it first"
                )
                say(failures[-1])
                continue
            say(f"{comp.name}: starting{comp.starting_note()}…")
            started = time.monotonic()
            try:
                comp.start()
            except StackError as exc:
                failures.append(f"{comp.name}: {exc}")
                say(failures[-1])
                continue
            pending.append((comp, started))
        failures += _wait(pending)
    if failures:
        say(f"FAILED ({len(failures)} component(s)) after {time.monotonic() - total:.1f} s")
        return 1
    elapsed = time.monotonic() - total
    say(f"all up ({elapsed:.1f} s); `scripts/stack env` prints the settings for services")
    return 0


def _stop(comp: Component) -> None:
    pid = comp.pid()
    if pid is None:
        if comp.installed() and comp.busy_ports():
            say(f"{comp.name}: port held by a process this checkout did not start; leaving it")
        else:
            say(f"{comp.name}: not running")
        comp.clear_stale()
        return
    say(f"{comp.name}: stopping (pid {pid})…")
    started = time.monotonic()
    comp.stop()
    say(f"{comp.name}: stopped ({time.monotonic() - started:.1f} s)")


def down(names: list[str]) -> int:
    components = [c for c in reversed(select(names, with_requirements=False)) if c.is_service]
    with file_lock(STATE / "stack.lock", "up/down"):
        # RabbitMQ's graceful stop takes ~9 s and nothing depends on it: stop it alongside the rest
        slow = [c for c in components if c.name == "rabbitmq" and len(components) > 1]
        threads = [threading.Thread(target=_stop, args=(c,)) for c in slow]
        for thread in threads:
            thread.start()
        for comp in components:
            if comp not in slow:
                _stop(comp)
        for thread in threads:
            thread.join()
        if names and "postgres" in names and COMPONENTS["keycloak"].pid() is not None:
            say("postgres: note, keycloak still runs and fails requests until postgres is back")
    return 0


def status() -> int:
    rows = [("COMPONENT", "STATE", "PID", "PORTS", "DETAIL")]
    for comp in COMPONENTS.values():
        state, pid = comp.state()
        detail = comp.detail() if state != "not installed" else ""
        rows.append((comp.name, state, str(pid) if pid else "-", comp.ports_text(), detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    return 0


def logs(name: str, lines: int, follow: bool) -> int:
    comp = select([name], with_requirements=False)[0]
    if not comp.is_service:
        raise StackError(f"{name} is a CLI, it has no log")
    if not comp.log_file.exists():
        raise StackError(f"no log yet at {rel(comp.log_file)}; `scripts/stack up {name}` starts it")
    for line in tail(comp.log_file, lines):
        print(line)
    if follow:
        with open(comp.log_file, "rb") as fh:
            fh.seek(0, 2)
            try:
                while True:
                    chunk = fh.read()
                    if chunk:
                        print(chunk.decode(errors="replace"), end="", flush=True)
                    else:
                        time.sleep(0.3)
            except KeyboardInterrupt:
                pass
    return 0


def env_lines() -> list[tuple[str, str]]:
    return [
        ("TASKFLOW_DATABASE_URL", f"postgresql://taskflow:taskflow@{HOST}:{PG_PORT}/taskflow"),
        ("TASKFLOW_REDIS_URL", f"redis://{HOST}:{REDIS_PORT}/0"),
        ("TASKFLOW_AMQP_URL", f"amqp://guest:guest@{HOST}:{AMQP_PORT}/"),
        ("TASKFLOW_RABBITMQ_MANAGEMENT_URL", f"http://guest:guest@{HOST}:{MANAGEMENT_PORT}/"),
        ("TASKFLOW_OIDC_ISSUER", ISSUER),
        ("TASKFLOW_OIDC_AUDIENCE", "taskflow-api"),
        ("TASKFLOW_OIDC_JWKS_URL", f"{ISSUER}/protocol/openid-connect/certs"),
        ("TASKFLOW_KEYCLOAK_URL", f"http://{HOST}:{Keycloak.ports['http']}"),
        ("TASKFLOW_KEYCLOAK_REALM", "taskflow"),
        ("TASKFLOW_KEYCLOAK_GATEWAY_CLIENT_ID", "taskflow-gateway"),
        ("TASKFLOW_KEYCLOAK_GATEWAY_SECRET", "taskflow-gateway-dev-secret"),
        ("TASKFLOW_KEYCLOAK_ADMIN_UI_CLIENT_ID", "taskflow-admin"),
        ("TASKFLOW_KEYCLOAK_ADMIN_UI_SECRET", "taskflow-admin-dev-secret"),
        ("TASKFLOW_SMTP_HOST", HOST),
        ("TASKFLOW_SMTP_PORT", str(Mailpit.ports["smtp"])),
        ("TASKFLOW_MAILPIT_URL", f"http://{HOST}:{Mailpit.ports['http']}"),
        ("TASKFLOW_JAEGER_QUERY_URL", f"http://{HOST}:{Jaeger.ports['query']}"),
        ("TASKFLOW_HELM_BIN", str(BIN / "helm")),
        ("TASKFLOW_ACTIONLINT_BIN", str(BIN / "actionlint")),
        ("TASKFLOW_PROMTOOL_BIN", str(BIN / "promtool")),
        ("TASKFLOW_README_GENERATOR_BIN", str(ReadmeGenerator().binary)),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://{HOST}:{Jaeger.ports['otlp-grpc']}"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]


def env_values() -> dict[str, str]:
    """The settings services and tests use to reach the stack (`scripts/stack env` prints them)."""
    values = dict(env_lines())
    for key in ("TASKFLOW_KEYCLOAK_GATEWAY_SECRET", "TASKFLOW_KEYCLOAK_ADMIN_UI_SECRET"):
        values[key] = os.environ.get(key, values[key])  # the value Keycloak imported
    return values


def env(export: bool) -> int:
    for key, value in env_values().items():
        print(f"{'export ' if export else ''}{key}={value}")
    return 0


def reset(names: list[str]) -> int:
    """Stop components and delete their state (data, logs) under .stack/."""
    targets = select(names, with_requirements=False)
    down([c.name for c in targets])
    for comp in targets:
        if comp.is_service and comp.dir.exists():
            shutil.rmtree(comp.dir)
            say(f"{comp.name}: removed {rel(comp.dir)}")
    if any(c.name == "postgres" for c in targets) and not any(
        c.name == "keycloak" for c in targets
    ):
        # keycloak's data lived in postgres: make its next start re-import the realm
        Keycloak().digest_file.unlink(missing_ok=True)
    return 0

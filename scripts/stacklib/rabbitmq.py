"""RabbitMQ 3.10 from Debian, node rabbit@localhost, everything on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .base import Component
from .core import (
    DEPLOY,
    HOST,
    StackError,
    apt_install,
    chown,
    http_ok,
    is_root,
    live_pid,
    port_open,
    rel,
    run,
    terminate,
)

AMQP_PORT = 55672
MANAGEMENT_PORT = 15672
PROMETHEUS_PORT = 15692
DIST_PORT = 25672  # the default (AMQP port + 20000) would be 75672: out of range
OS_USER = "rabbitmq"
PLUGINS = ("rabbitmq_management", "rabbitmq_prometheus")


class RabbitMQ(Component):
    name = "rabbitmq"
    ports = {"amqp": AMQP_PORT, "management": MANAGEMENT_PORT, "prometheus": PROMETHEUS_PORT}
    start_timeout = 120.0
    pid_grace = 60.0  # the node writes its pid file only once the VM has booted
    spawned = False
    marker = "beam"

    @property
    def pid_file(self) -> Path:
        return self.dir / "rabbit@localhost.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "log" / "rabbit@localhost.log"

    @property
    def config_file(self) -> Path:
        return self.dir / "etc" / "rabbitmq.conf"

    def env(self) -> dict[str, str]:
        """What the server and every CLI tool (rabbitmqctl…) need to find this node."""
        return {
            "RABBITMQ_NODENAME": "rabbit@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(AMQP_PORT),
            "RABBITMQ_DIST_PORT": str(DIST_PORT),
            "ERL_EPMD_ADDRESS": HOST,
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CONFIG_FILE": str(self.config_file),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "etc" / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.log_file.parent),
            "RABBITMQ_PID_FILE": str(self.pid_file),
        }

    def installed(self) -> bool:
        return (
            shutil.which("rabbitmq-server") is not None
            or Path("/usr/sbin/rabbitmq-server").exists()
        )

    def install(self) -> None:
        apt_install("rabbitmq-server")

    def install_note(self) -> str:
        return "apt-get install rabbitmq-server"

    def version(self) -> str:
        found = sorted(Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-*"))
        return found[-1].name.replace("rabbitmq_server-", "") if found else ""

    def pid(self) -> int | None:
        return live_pid(self.pid_file, self.marker)

    def ready(self) -> bool:
        return (
            port_open(AMQP_PORT)
            and port_open(PROMETHEUS_PORT)
            and http_ok(f"http://{HOST}:{MANAGEMENT_PORT}/api/overview", auth=("guest", "guest"))
        )

    def _write_config(self) -> None:
        etc = self.dir / "etc"
        for sub in (etc, self.dir / "mnesia", self.log_file.parent):
            sub.mkdir(parents=True, exist_ok=True)
        template = (DEPLOY / "rabbitmq" / "rabbitmq.conf.template").read_text()
        self.config_file.write_text(
            template.format(
                host=HOST,
                amqp_port=AMQP_PORT,
                management_port=MANAGEMENT_PORT,
                prometheus_port=PROMETHEUS_PORT,
            )
        )
        (etc / "enabled_plugins").write_text(f"[{','.join(PLUGINS)}].\n")
        # the broker runs as `rabbitmq`: it must own its config, data and log directories
        chown(self.dir, OS_USER, recursive=True)

    def start(self) -> None:
        if not is_root():
            raise StackError(
                "Debian's rabbitmq-server only runs for root or the rabbitmq user: run as root"
            )
        self._write_config()
        self.pid_file.unlink(missing_ok=True)
        startup_log = self.log_file.parent / "startup.log"
        with open(startup_log, "ab") as out:
            subprocess.run(
                ["rabbitmq-server", "-detached"],
                env={**os.environ, **self.env()},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd="/",
                timeout=60,
                check=False,
            )

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            # `rabbitmqctl stop <pidfile>` returns once the VM has exited
            result = run(
                ["rabbitmqctl", "stop", str(self.pid_file)], env=self.env(), check=False, timeout=90
            )
            if result.returncode != 0:
                terminate(pid, group=False, timeout=30)
        # rabbitmqctl stop leaves epmd behind, bound to our loopback address
        run(["epmd", "-kill"], env={"ERL_EPMD_ADDRESS": HOST}, check=False, timeout=10)
        self.pid_file.unlink(missing_ok=True)

    def detail(self) -> str:
        return f"node rabbit@localhost, data {rel(self.dir / 'mnesia')}"

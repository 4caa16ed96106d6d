"""Redis, the Go-built tools (Mailpit, Jaeger v2, the helm CLI, actionlint), promtool and the
charts' README generator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .base import Component
from .core import (
    BIN,
    CACHE,
    DEPLOY,
    HOST,
    StackError,
    apt_download,
    apt_install,
    find_go,
    go_install,
    go_module_version,
    http_ok,
    port_open,
    redis_ping,
    rel,
    run,
    spawn,
)

REDIS_PORT = 56379
MAILPIT = ("github.com/axllent/mailpit", "v1.33.1")
HELM = ("helm.sh/helm/v3", "v3.22.0")
# Lints .github/workflows in make test (tests/delivery); skaffold is not served by the module proxy.
ACTIONLINT = ("github.com/rhysd/actionlint", "v1.7.12")
JAEGER = ("github.com/jaegertracing/jaeger", "v1.76.0")
# Checks and unit-tests the chart's alert rules in make test (tests/charts/test_alert_rules.py).
PROMTOOL_DEB = ("prometheus", "2.42.0")
# Writes and, in make test, checks each chart's README parameter tables from values.yaml's
# @param comments (tests/charts/test_readmes.py, scripts/chart-readmes).
README_GENERATOR = ("@bitnami/readme-generator-for-helm", "2.7.2")
# Jaeger's go.mod has a replace directive, so `go install …/cmd/jaeger@v1.76.0` is refused
# ("contains one or more replace directives"); we build it as a tool of a throwaway module
# that repeats that replace.
JAEGER_REPLACES = ("github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0",)


class Redis(Component):
    name = "redis"
    ports = {"redis": REDIS_PORT}
    start_timeout = 20.0
    spawned = False  # --daemonize: the pid file is the daemon's, not a session leader
    marker = "redis-server"

    def installed(self) -> bool:
        return shutil.which("redis-server") is not None

    def install(self) -> None:
        apt_install("redis-server")

    def install_note(self) -> str:
        return "apt-get install redis-server"

    def version(self) -> str:
        return run(["redis-server", "--version"], check=False).stdout.split(" sha=")[0].strip()

    def ready(self) -> bool:
        return redis_ping(REDIS_PORT)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        # Redis holds only rate-limit buckets and the channel layer here: nothing to persist.
        run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                HOST,
                "--port",
                str(REDIS_PORT),
                "--protected-mode",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.log_file),
                "--pidfile",
                str(self.pid_file),
            ]
        )


class GoTool(Component):
    """A program built from the Go module proxy into ~/.cache/taskflow/bin."""

    module: tuple[str, str] = ("", "")
    package = ""  # full package path of the main package
    ldflags = ""  # e.g. the version string official release builds stamp in

    @property
    def binary(self) -> Path:
        return BIN / self.name

    def installed(self) -> bool:
        return go_module_version(self.binary, self.module[0]) == self.module[1]

    def install(self) -> None:
        find_go()
        go_install(f"{self.package}@{self.module[1]}", ldflags=self.ldflags)

    def install_note(self) -> str:
        return f"go install {self.package}@{self.module[1]}"

    def version(self) -> str:
        return f"{self.module[1]} {rel(self.binary)}"


class Mailpit(GoTool):
    name = "mailpit"
    ports = {"smtp": 1025, "http": 8025}
    module = MAILPIT
    package = MAILPIT[0]
    start_timeout = 30.0

    def ready(self) -> bool:
        return port_open(self.ports["smtp"]) and http_ok(
            f"http://{HOST}:{self.ports['http']}/api/v1/info"
        )

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        spawn(
            [
                str(self.binary),
                "--smtp",
                f"{HOST}:{self.ports['smtp']}",
                "--listen",
                f"{HOST}:{self.ports['http']}",
                "--database",
                str(self.dir / "mailpit.db"),
                # services may log in with any credentials, over plain SMTP (loopback only)
                "--smtp-auth-accept-any",
                "--smtp-auth-allow-insecure",
                "--smtp-disable-rdns",
                "--disable-version-check",
                "--max",
                "5000",
            ],
            log=self.log_file,
            pid_file=self.pid_file,
        )


class Jaeger(GoTool):
    name = "jaeger"
    ports = {"otlp-grpc": 4317, "otlp-http": 4318, "query": 16686}
    module = JAEGER
    package = f"{JAEGER[0]}/cmd/jaeger"
    start_timeout = 30.0

    @property
    def build_dir(self) -> Path:
        return CACHE / "jaeger-build"

    def install(self) -> None:
        go = find_go()
        self.build_dir.mkdir(parents=True, exist_ok=True)
        replaces = "".join(f"replace {line}\n" for line in JAEGER_REPLACES)
        (self.build_dir / "go.mod").write_text(
            "// Generated by scripts/stack: builds Jaeger v2 as a tool (see stacklib/simple.py).\n"
            f"module taskflow.local/jaeger-build\n\ngo 1.24.6\n\n{replaces}"
        )
        (self.build_dir / "go.sum").unlink(missing_ok=True)
        run(
            [go, "get", "-tool", f"{self.package}@{self.module[1]}"],
            cwd=self.build_dir,
            timeout=1800,
        )
        ldflags = f"-X {JAEGER[0]}/internal/version.latestVersion={self.module[1]}"
        run(
            [go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(self.binary), self.package],
            cwd=self.build_dir,
            timeout=3600,
        )

    def install_note(self) -> str:
        return (
            f"go build {self.package}@{self.module[1]} as a module tool, first time several minutes"
        )

    @property
    def config(self) -> Path:
        return DEPLOY / "jaeger" / "config.yaml"

    def ready(self) -> bool:
        return (
            port_open(self.ports["otlp-grpc"])
            and port_open(self.ports["otlp-http"])
            and http_ok(f"http://{HOST}:{self.ports['query']}/api/services")
        )

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        spawn(
            [str(self.binary), "--config", str(self.config)],
            log=self.log_file,
            pid_file=self.pid_file,
        )


class Helm(GoTool):
    name = "helm"
    ports = {}
    is_service = False
    module = HELM
    package = f"{HELM[0]}/cmd/helm"
    # without it `helm version` says "v3.22" (and charts see that as .Capabilities.HelmVersion)
    ldflags = f"-X {HELM[0]}/internal/version.version={HELM[1]}"

    def version(self) -> str:
        out = run([str(self.binary), "version", "--short"], check=False).stdout.strip()
        return f"{out or self.module[1]} {rel(self.binary)}"

    def detail(self) -> str:
        return self.version()

    def ready(self) -> bool:
        return run([str(self.binary), "version", "--short"], check=False).returncode == 0


class Actionlint(GoTool):
    """The GitHub Actions workflow linter, run by tests/delivery over .github/workflows."""

    name = "actionlint"
    ports = {}
    is_service = False
    module = ACTIONLINT
    package = f"{ACTIONLINT[0]}/cmd/actionlint"

    def detail(self) -> str:
        return self.version()

    def ready(self) -> bool:
        return run([str(self.binary), "-version"], check=False).returncode == 0


class Promtool(Component):
    """Prometheus's rule checker, taken out of Debian's `prometheus` package: only the one
    static binary, so no Prometheus server is installed or started (and the package's
    service unit never runs). Downloading the .deb takes seconds; building promtool from the
    Go module proxy would compile most of Prometheus."""

    name = "promtool"
    ports = {}
    is_service = False

    @property
    def binary(self) -> Path:
        return BIN / "promtool"

    def installed(self) -> bool:
        return self.binary.exists() and self.version().startswith(PROMTOOL_DEB[1])

    def install(self) -> None:
        package, version = PROMTOOL_DEB
        work = CACHE / "promtool-deb"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        apt_download(package, work)
        deb = next(work.glob(f"{package}_{version}*.deb"), None)
        if deb is None:
            raise StackError(
                f"Debian offers no {package} {version} (apt-cache policy {package}): "
                "update PROMTOOL_DEB in scripts/stacklib/simple.py"
            )
        run(["dpkg-deb", "-x", str(deb), str(work / "root")])
        BIN.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / "root" / "usr" / "bin" / "promtool", self.binary)
        shutil.rmtree(work, ignore_errors=True)

    def install_note(self) -> str:
        return f"apt-get download {PROMTOOL_DEB[0]} and copy usr/bin/promtool into {rel(BIN)}"

    def version(self) -> str:
        if not self.binary.exists():
            return ""
        out = run([str(self.binary), "--version"], check=False).stdout
        # "promtool, version 2.42.0+ds (branch: …)"
        return out.split("version ", 1)[1].split()[0] if "version " in out else ""

    def detail(self) -> str:
        return f"v{self.version()} {rel(self.binary)}"

    def ready(self) -> bool:
        return run([str(self.binary), "--version"], check=False).returncode == 0


class Chromium(Component):
    """Debian's headless-capable Chromium, for the browser tests (tests/browser, driven by
    Playwright for Python with executable_path): Playwright's own browser download needs a
    host this machine cannot reach. Installed once by apt; nothing is started."""

    name = "chromium"
    ports = {}
    is_service = False
    binary = Path("/usr/bin/chromium")

    def installed(self) -> bool:
        return self.binary.exists()

    def install(self) -> None:
        # fonts-liberation: text in screenshots renders with real glyph metrics.
        apt_install("chromium", "fonts-liberation")

    def install_note(self) -> str:
        return "apt-get install chromium fonts-liberation (~1-2 min)"

    def version(self) -> str:
        if not self.binary.exists():
            return ""
        out = run([str(self.binary), "--version"], check=False).stdout
        # "Chromium 156.0.8078.73 built on Debian …" (Debian's wrapper may print a shell
        # warning first)
        lines = [line for line in out.splitlines() if line.startswith("Chromium ")]
        return lines[0].split()[1] if lines else ""

    def detail(self) -> str:
        return f"{self.version()} {self.binary}"

    def ready(self) -> bool:
        return run([str(self.binary), "--version"], check=False).returncode == 0


class ReadmeGenerator(Component):
    """Bitnami's readme-generator-for-helm, from npm into ~/.cache/taskflow/readme-generator."""

    name = "readme-generator"
    ports = {}
    is_service = False

    @property
    def prefix(self) -> Path:
        return CACHE / "readme-generator"

    @property
    def binary(self) -> Path:
        return self.prefix / "node_modules" / ".bin" / "readme-generator"

    def _installed_version(self) -> str:
        package = self.prefix / "node_modules" / README_GENERATOR[0] / "package.json"
        if not package.is_file():
            return ""
        return str(json.loads(package.read_text()).get("version", ""))

    def installed(self) -> bool:
        return self.binary.exists() and self._installed_version() == README_GENERATOR[1]

    def install(self) -> None:
        if shutil.which("npm") is None:
            apt_install("npm")
        self.prefix.mkdir(parents=True, exist_ok=True)
        package, version = README_GENERATOR
        run(
            ["npm", "install", "--prefix", str(self.prefix), "--no-audit", "--no-fund",
             f"{package}@{version}"],
            timeout=600,
        )  # fmt: skip

    def install_note(self) -> str:
        return f"npm install {README_GENERATOR[0]}@{README_GENERATOR[1]} into {rel(self.prefix)}"

    def version(self) -> str:
        return f"v{self._installed_version()} {rel(self.binary)}"

    def detail(self) -> str:
        return self.version()

    def ready(self) -> bool:
        return run([str(self.binary), "--help"], check=False).returncode == 0

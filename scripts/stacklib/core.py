"""Paths, output, processes, probes and installers shared by every component."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
# The real path: a checkout may link .stack to another checkout's, and servers record absolute
# paths in their data (each RabbitMQ quorum queue stores its data directory when it is
# declared): a path through a link breaks that queue for good once the link is removed.
STATE = (ROOT / ".stack").resolve()
DEPLOY = ROOT / "deploy"
CACHE = Path(os.environ.get("TASKFLOW_CACHE_DIR") or Path.home() / ".cache" / "taskflow")
BIN = CACHE / "bin"


class StackError(Exception):
    """A failure worth one clear line to the user (no traceback)."""


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def rel(path: Path) -> str:
    """A path as short as possible for messages: relative to the checkout or ~."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(ROOT))
    with contextlib.suppress(ValueError):
        return "~/" + str(path.relative_to(Path.home()))
    return str(path)


def is_root() -> bool:
    return os.geteuid() == 0


def as_user(user: str | None, cmd: Sequence[str]) -> list[str]:
    """Prefix cmd to run as `user` when we are root (initdb refuses to run as root)."""
    if user and is_root():
        return ["runuser", "-u", user, "--", *cmd]
    return list(cmd)


def run(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output, raise StackError with the output's tail on failure."""
    full_env = {**os.environ, **(env or {})}
    argv = as_user(user, cmd)
    try:
        proc = subprocess.run(
            argv,
            env=full_env,
            cwd=cwd,
            timeout=timeout,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except FileNotFoundError as exc:
        raise StackError(f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"timed out after {timeout:.0f} s: {' '.join(argv)}") from exc
    if check and proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        raise StackError(f"`{' '.join(argv)}` exited {proc.returncode}:\n{tail}")
    return proc


def chown(path: Path, user: str, recursive: bool = False) -> None:
    if not is_root():
        return
    if recursive:
        run(["chown", "-R", f"{user}:", str(path)])
    else:
        shutil.chown(path, user, user)


# --- processes -------------------------------------------------------------------------


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def live_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in pid_file if that process is alive and really ours (cmdline has marker)."""
    pid = read_pid(pid_file)
    if pid is None or not pid_alive(pid) or marker not in cmdline(pid):
        return None
    return pid


def spawn(
    cmd: Sequence[str],
    *,
    log: Path,
    pid_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    by: str = "scripts/stack",
) -> int:
    """Start a long-running foreground program detached in its own session; record its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {by}: {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(cmd),
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def terminate(pid: int, *, group: bool, timeout: float = 30.0) -> None:
    """SIGTERM the process (its whole session group when we spawned it), SIGKILL after timeout."""

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    if not wait_gone(pid, timeout):
        send(signal.SIGKILL)
        wait_gone(pid, 5)


# --- probes ----------------------------------------------------------------------------


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def http_get(
    url: str, *, auth: tuple[str, str] | None = None, timeout: float = 3.0
) -> tuple[int, bytes]:
    """GET url; returns (status, body); status 0 when nothing answered."""
    req = urllib.request.Request(url)  # noqa: S310 (http URLs we build)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http URLs we build)
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, ValueError):
        return 0, b""


def http_ok(url: str, **kwargs: object) -> bool:
    return http_get(url, **kwargs)[0] == 200  # type: ignore[arg-type]


def redis_ping(port: int, host: str = HOST) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")
    return False


def tail(path: Path, lines: int) -> list[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            data = fh.read().decode(errors="replace")
    except OSError:
        return []
    return data.splitlines()[-lines:] if lines > 0 else []


# --- locks -----------------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path, what: str) -> Iterator[None]:
    """Serialise stack changes between concurrent invocations (two test sessions, two clones)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another scripts/stack ({what}) to finish…")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


# --- installers ------------------------------------------------------------------------

_apt_updated = False


def apt_install(*packages: str) -> None:
    """apt-get install (after one apt-get update per invocation); needs root."""
    global _apt_updated
    if not is_root():
        raise StackError(
            f"missing Debian package(s) {' '.join(packages)}: run scripts/stack as root "
            f"or `sudo apt-get install -y {' '.join(packages)}`"
        )
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        run(["apt-get", "update", "-q"], env=env, timeout=600)
        _apt_updated = True
    run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        env=env,
        timeout=1200,
    )


def apt_download(package: str, dest: Path) -> None:
    """apt-get download one package's .deb into dest (no install), updating the lists once if
    this machine's are too old to know it."""
    global _apt_updated
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    dest.chmod(0o777)  # apt-get download drops to the _apt user where it can
    if run(["apt-get", "download", "-q", package], cwd=dest, env=env, check=False).returncode:
        if not _apt_updated:
            run(["apt-get", "update", "-q"], env=env, timeout=600)
            _apt_updated = True
        run(["apt-get", "download", "-q", package], cwd=dest, env=env, timeout=600)


def find_go() -> str:
    for candidate in (shutil.which("go"), "/usr/local/go/bin/go", str(Path.home() / "go/bin/go")):
        if candidate and Path(candidate).exists():
            return candidate
    raise StackError(
        "Go >= 1.24 is needed to build mailpit, jaeger and helm (Debian's golang is too old): "
        "install it from https://go.dev/dl into /usr/local/go"
    )


def go_module_version(binary: Path, module: str) -> str | None:
    """Version of `module` compiled into a Go binary (main module or dependency), or None."""
    if not binary.exists():
        return None
    try:
        out = run([find_go(), "version", "-m", str(binary)], check=False).stdout
    except StackError:
        return None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("mod", "dep") and parts[1] == module:
            return parts[2]
    return None


def go_install(package_at_version: str, *, ldflags: str = "") -> None:
    flags = ["-ldflags", ldflags] if ldflags else []
    run([find_go(), "install", *flags, package_at_version], env={"GOBIN": str(BIN)}, timeout=3600)


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()

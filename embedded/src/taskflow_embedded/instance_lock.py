"""One embedded suite per data directory: an exclusive flock on `<data dir>/embedded.lock`.

The kernel releases an flock when its holder dies (even by SIGKILL), so a lock file left by a
killed run never blocks the next one; a second run beside a live one is refused before it
touches the database.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_NAME = "embedded.lock"


class AlreadyRunningError(RuntimeError):
    """Another `python -m taskflow_embedded` holds the data directory."""


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "a+" keeps the holder's pid readable until we own the lock and rewrite it.
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise AlreadyRunningError(
                f"another TaskFlow embedded suite (pid {holder}) is running on "
                f"{self.path.parent.resolve()}; stop it first (Ctrl-C in its terminal, or "
                f"`kill {holder}`), or give this one its own --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None

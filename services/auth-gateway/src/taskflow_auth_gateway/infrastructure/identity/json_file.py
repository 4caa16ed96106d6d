"""A JSON document in a file that every change replaces whole (the development identity
store's persistence, ADR 0206).

A replace is atomic, so a reader sees the document before or after a change, never half of
one; the document is parsed again only when the file is another one than the one last read.
Writers must hold an exclusive lock shared by every process that writes the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class JsonFile(Generic[T]):
    def __init__(
        self,
        path: Path,
        *,
        kind: str,
        empty: Callable[[], T],
        load: Callable[[dict[str, Any]], T],
        dump: Callable[[T], dict[str, Any]],
    ) -> None:
        self.path = path
        self._kind, self._empty, self._load, self._dump = kind, empty, load, dump
        self.value: T = empty()
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime ns, size) last read

    def reload(self) -> None:
        """Read the file again if it was replaced since (or was never read)."""
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 -- closed below, after the fstat
        except FileNotFoundError:
            self.value, self._seen = self._empty(), None
            return
        with handle:
            status = os.fstat(handle.fileno())
            seen = (status.st_ino, status.st_mtime_ns, status.st_size)
            if seen == self._seen:
                return
            try:
                document = json.loads(handle.read())
                if document.get("kind") != self._kind:
                    raise ValueError(f"kind {document.get('kind')!r}, not {self._kind!r}")
                value = self._load(document)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise RuntimeError(
                    f"{self.path} does not hold {self._kind} ({exc}); move it away to start empty"
                ) from exc
        self.value, self._seen = value, seen

    def forget(self) -> None:
        """The value in memory may differ from the file (a change failed): read it next time."""
        self._seen = None

    def save(self) -> None:
        """Write the value to a temporary file, flush it to disk, and put it in place."""
        document = {"kind": self._kind, **self._dump(self.value)}
        data = json.dumps(document, separators=(",", ":")).encode()
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # hashes of secrets
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.path)
        status = os.stat(self.path)  # still ours: the writers' lock keeps the others out
        self._seen = (status.st_ino, status.st_mtime_ns, status.st_size)

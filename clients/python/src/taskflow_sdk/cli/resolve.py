"""Finding what the user named: a task by a unique id prefix, a project by name or id."""

from __future__ import annotations

import uuid

from taskflow_sdk.client import TaskFlow


class NotFound(LookupError):
    """Nothing, or more than one thing, answers to the name given."""


def _full_id(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def task_id(tf: TaskFlow, prefix: str, *, deleted: bool = False) -> str:
    """The one task (in the trash when `deleted`) whose id starts with `prefix`."""
    full = _full_id(prefix)
    if full is not None:
        return full
    wanted = prefix.strip().lower()
    if len(wanted) < 4:
        raise NotFound(f"{prefix!r} is too short to name a task: give at least 4 characters")
    matches = [str(t.id) for t in tf.tasks.iter(deleted=deleted) if str(t.id).startswith(wanted)]
    where = "in the trash" if deleted else ""
    if not matches:
        raise NotFound(f"no task {where} has an id starting with {prefix!r}".replace("  ", " "))
    if len(matches) > 1:
        listed = ", ".join(m[:13] for m in matches[:5])
        raise NotFound(f"{prefix!r} names {len(matches)} tasks ({listed}...): give more characters")
    return matches[0]


def project_id(tf: TaskFlow, name: str) -> str:
    """A project by its exact name (any case) or by a unique id prefix."""
    full = _full_id(name)
    if full is not None:
        return full
    projects = list(tf.projects.iter())
    named = [p for p in projects if p.name.casefold() == name.casefold()]
    if len(named) == 1:
        return str(named[0].id)
    if len(named) > 1:
        raise NotFound(f"{len(named)} projects are named {name!r}: give the project's id")
    by_id = [p for p in projects if str(p.id).startswith(name.lower())]
    if len(by_id) == 1:
        return str(by_id[0].id)
    raise NotFound(f"no project named {name!r}")

"""Failures the use cases report; the HTTP layer maps each to a problem+json status."""

from __future__ import annotations


class TaskNotFoundError(LookupError):
    """The task does not exist or the caller may not see it (the same answer: 404)."""


class SuggestionNotFoundError(LookupError):
    """No such suggestion, or one about a task the caller may not see."""


class TaskChangeForbiddenError(PermissionError):
    """The caller sees the task but may not change it (a project viewer): 403."""


class TasksUnavailableError(ConnectionError):
    """The tasks API did not answer; the caller may retry: 503."""


class BadCursorError(ValueError):
    """A list cursor that this service did not issue: 400."""


class ModelFailure(Exception):
    """The model gave no usable answer; `reason` labels the fallback metric."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason

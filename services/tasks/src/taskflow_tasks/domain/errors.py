"""Domain errors: each says which rule was broken, never how the caller should render it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    message: str


class DomainError(Exception):
    """Base of every rule violation raised by the domain or the application layer."""


class InvalidFields(DomainError):
    """Well-formed input that breaks an invariant (a 422 at the HTTP edge)."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(f"{v.field}: {v.message}" for v in self.violations))

    @classmethod
    def one(cls, field: str, message: str) -> InvalidFields:
        return cls([FieldViolation(field, message)])


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know it does."""


class Forbidden(DomainError):
    """The caller can see the thing but may not change it."""


class Conflict(DomainError):
    """The request contradicts the current state (e.g. removing the last owner)."""


class PreconditionFailed(DomainError):
    """An If-Match precondition did not hold: the caller's copy is stale."""

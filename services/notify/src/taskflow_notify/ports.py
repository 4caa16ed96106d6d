"""The notification channels' ports (one Protocol per provider that varies by mode)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class UserContact:
    user_id: str
    email: str | None
    display_name: str | None = None


class UserDirectory(Protocol):
    """Where a user's email address comes from (Keycloak, or the embedded identity provider)."""

    def contact_for(self, user_id: str) -> UserContact | None: ...


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    headers: Mapping[str, str] = field(default_factory=dict)


class EmailSender(Protocol):
    def send(self, email: OutgoingEmail) -> None:
        """Return once the mail server accepted the message, else raise."""
        ...


@dataclass(frozen=True)
class WebhookResponse:
    status: int


class WebhookRefusedError(ValueError):
    """The webhook URL points somewhere it must not (SSRF) or is not a usable URL."""


class WebhookDeliveryError(Exception):
    """One attempt failed on the way (worth a retry). `reason` is a short code, the only thing
    the webhook's owner is shown: raw connection errors would make webhooks a port scanner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookSender(Protocol):
    def check_url(self, url: str) -> None:
        """Raise WebhookRefusedError if the URL may not be called."""
        ...

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        """POST once within the sender's deadline; WebhookDeliveryError when the attempt fails,
        WebhookRefusedError on a forbidden target."""
        ...

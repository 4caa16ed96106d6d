"""The adapters one process runs with, as chosen by bootstrap.configure."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps

from taskflow_common.auth import JwtVerifier
from taskflow_notify.config import NotifySettings
from taskflow_notify.ports import EmailSender, UserDirectory, WebhookSender


@dataclass
class NotifyContainer:
    settings: NotifySettings
    verifier: JwtVerifier
    users: UserDirectory
    email: EmailSender
    webhooks: WebhookSender


def container() -> NotifyContainer:
    """The process's container; Django's AppConfig is where Django code can reach it."""
    found = apps.get_app_config("notify").container
    if found is None:
        raise RuntimeError("taskflow_notify is not configured: call bootstrap.configure() first")
    assert isinstance(found, NotifyContainer)
    return found

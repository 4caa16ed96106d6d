"""EmailSender through Django's configured backend (SMTP to Mailpit; locmem/console embedded)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from taskflow_notify.ports import OutgoingEmail
from taskflow_notify.tracing import smtp_send_span


class DjangoEmailSender:
    def send(self, email: OutgoingEmail) -> None:
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.text,
            to=[email.to],
            headers={"Message-ID": email.message_id, **dict(email.headers)},
            connection=get_connection(fail_silently=False),
        )
        message.attach_alternative(email.html, "text/html")
        if not settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
            message.send(fail_silently=False)  # locmem or console (embedded, tests)
            return
        with smtp_send_span(settings.EMAIL_HOST, settings.EMAIL_PORT):
            message.send(fail_silently=False)

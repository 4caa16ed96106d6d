"""EmailSender through Django's configured backend (SMTP to Mailpit; locmem/console embedded)."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives, get_connection

from taskflow_notify.ports import OutgoingEmail


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
        message.send(fail_silently=False)

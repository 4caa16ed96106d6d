"""Django start-up for a TaskFlow service (one settings module per process)."""

from __future__ import annotations

import os


def setup_django(package: str, default_settings_module: str) -> None:
    """Set Django up with this service's settings.

    A DJANGO_SETTINGS_MODULE inherited from a parent process is honoured only if it is one of
    this service's own modules (e.g. its test settings); anything else would boot the wrong app.
    """
    inherited = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    if not inherited.startswith(f"{package}.settings."):
        os.environ["DJANGO_SETTINGS_MODULE"] = default_settings_module
    import django

    django.setup(set_prefix=False)

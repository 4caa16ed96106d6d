"""Django settings of notify's own processes (serve, consume, worker).

Settings come from the environment through NotifySettings (TASKFLOW_* names); this module only
maps them onto Django's names. It opens no connection.
"""

from __future__ import annotations

# Django reads these two from this module (and `from base import *` must keep every name).
from taskflow_common.djangoweb.proxy import (  # noqa: F401
    SECURE_PROXY_SSL_HEADER,
    USE_X_FORWARDED_HOST,
)
from taskflow_notify.config import NotifySettings
from taskflow_notify.settings import parts

_cfg = NotifySettings()

SECRET_KEY = _cfg.secret_key.get_secret_value()
DEBUG = _cfg.debug
ALLOWED_HOSTS = ["*"]  # behind the gateway; Host is not used for anything
CSRF_TRUSTED_ORIGINS = _cfg.csrf_trusted_origins
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "taskflow_notify.urls"
ASGI_APPLICATION = "taskflow_notify.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TASKFLOW_SERVICE_NAME = "notify"
INSTALLED_APPS = [*parts.INSTALLED_APPS]
MIDDLEWARE = [
    "taskflow_common.djangoweb.ops.RequestMetricsMiddleware",
    "django.middleware.common.CommonMiddleware",
]
APPEND_SLASH = False
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]
REST_FRAMEWORK = parts.REST_FRAMEWORK
LOGGING_CONFIG = None  # taskflow_common.logs configures logging in the composition root

globals().update(parts.service(_cfg))

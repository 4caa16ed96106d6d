"""Django settings of the admin service's process (serve). Opens no connection."""

from __future__ import annotations

from taskflow_admin.config import AdminSettings
from taskflow_admin.settings import parts
from taskflow_common.djangoweb.database import database

# Django reads these two from this module (and `from base import *` must keep every name).
from taskflow_common.djangoweb.proxy import (  # noqa: F401
    SECURE_PROXY_SSL_HEADER,
    USE_X_FORWARDED_HOST,
)

_cfg = AdminSettings()

TASKFLOW_ADMIN = _cfg
TASKFLOW_SERVICE_NAME = "admin"
SECRET_KEY = _cfg.secret_key.get_secret_value()
DEBUG = _cfg.debug
ALLOWED_HOSTS = ["*"]  # behind the gateway
CSRF_TRUSTED_ORIGINS = _cfg.csrf_trusted_origins
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "taskflow_admin.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [*parts.INSTALLED_APPS]
MIDDLEWARE = [
    "taskflow_common.djangoweb.ops.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    *parts.MIDDLEWARE,
]
APPEND_SLASH = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": parts.CONTEXT_PROCESSORS},
    }
]
DATABASES = {"default": database(_cfg.database_url, _cfg.db_schema)}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["taskflow_common.djangoweb.auth.JwtAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["taskflow_common.djangoweb.auth.IsAuthenticatedPrincipal"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "taskflow_common.djangoweb.errors.drf_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}
globals().update({**parts.STATIC_FILES, **parts.oidc(_cfg), **parts.sessions(_cfg)})
LOGGING_CONFIG = None  # taskflow_common.logs configures logging in the composition root

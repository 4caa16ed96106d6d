"""The embedded mode's one Django settings module: notify's and admin's apps together.

Django allows one settings module per process, so the embedded mode composes the two
services' settings pieces here: the embedded PostgreSQL with each service's schema behind its
own database alias (notify's `default`, admin's `admin`; `django_router`, ADR 0011), the
in-memory channel layer, eager Celery, and email printed to the console unless
TASKFLOW_EMAIL_BACKEND=smtp (or locmem) says otherwise. Each service keeps its own apps,
models and migrations.
"""

from __future__ import annotations

import os

from taskflow_admin.config import AdminSettings
from taskflow_admin.settings import parts as admin_parts
from taskflow_common.djangoweb.database import database

# Django reads these two from this module (and `from base import *` must keep every name).
from taskflow_common.djangoweb.proxy import (  # noqa: F401
    SECURE_PROXY_SSL_HEADER,
    USE_X_FORWARDED_HOST,
)
from taskflow_embedded.config import EmbeddedSettings
from taskflow_embedded.django_app import DATABASE_URL_ENV, PUBLIC_URL_ENV
from taskflow_embedded.in_process_http import SERVICE_URLS
from taskflow_notify.config import NotifySettings
from taskflow_notify.settings import parts as notify_parts

_embedded = EmbeddedSettings()
_database_url = os.environ[DATABASE_URL_ENV]
_public_url = os.environ.get(PUBLIC_URL_ENV, _embedded.public_url)
_notify = NotifySettings(
    database_url=_database_url,
    channel_layer="memory",
    celery_eager=True,
    email_backend=os.environ.get("TASKFLOW_EMAIL_BACKEND", "console"),  # type: ignore[arg-type]
    oidc_issuer=_public_url,
)
_admin = AdminSettings(
    database_url=_database_url,
    oidc_issuer=_public_url,
    # The other services are in this process (in_process_http), not on their own ports.
    tasks_url=SERVICE_URLS["tasks"],
    notify_url=SERVICE_URLS["notify"],
    suggest_url=SERVICE_URLS["suggest"],
    # The development provider's endpoints (composition.admin_sign_in), reached over the
    # suite's own listener: the browser is sent to them, and the code exchange goes there too.
    oidc_authorization_url=f"{_public_url}/auth/oidc/authorize",
    oidc_token_url=f"{_public_url}/auth/oidc/token",
    oidc_end_session_url=f"{_public_url}/auth/oidc/logout",
    oidc_jwks_url=f"{_public_url}/auth/jwks",
)

SECRET_KEY = _notify.secret_key.get_secret_value()
DEBUG = False
ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = _admin.csrf_trusted_origins
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "taskflow_embedded.django_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TASKFLOW_SERVICE_NAME = "notify+admin"
TASKFLOW_NOTIFY = _notify
TASKFLOW_ADMIN = _admin
INSTALLED_APPS = list(dict.fromkeys([*admin_parts.INSTALLED_APPS, *notify_parts.INSTALLED_APPS]))
MIDDLEWARE = [
    "taskflow_embedded.upstream_urlconf.UpstreamUrlconfMiddleware",
    "taskflow_common.djangoweb.ops.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    *admin_parts.MIDDLEWARE,
]
APPEND_SLASH = False
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": admin_parts.CONTEXT_PROCESSORS},
    }
]
REST_FRAMEWORK = notify_parts.REST_FRAMEWORK
LOGGING_CONFIG = None
# alias -> schema, as each service has it in the distributed mode.
TASKFLOW_SCHEMAS = {"default": _notify.db_schema, "admin": _admin.db_schema}
DATABASES = {alias: database(_database_url, schema) for alias, schema in TASKFLOW_SCHEMAS.items()}
DATABASE_ROUTERS = ["taskflow_embedded.django_router.ServiceSchemaRouter"]

globals().update(
    {
        "CHANNEL_LAYERS": notify_parts.channel_layers(_notify),
        **notify_parts.email(_notify),
        **notify_parts.celery(_notify),
        **admin_parts.STATIC_FILES,
        **admin_parts.oidc(_admin),
        **admin_parts.sessions(_admin),
    }
)

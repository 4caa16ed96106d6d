"""Notify's pieces of a Django settings module, built from NotifySettings.

`base` assembles them for notify's own processes; the embedded mode's composed settings module
takes the same pieces and merges them with the admin service's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taskflow_common.djangoweb.database import database
from taskflow_notify.config import NotifySettings

INSTALLED_APPS = ["rest_framework", "taskflow_notify"]
TEMPLATE_DIRS: list[Path] = []  # app templates are found through APP_DIRS

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["taskflow_common.djangoweb.auth.JwtAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["taskflow_common.djangoweb.auth.IsAuthenticatedPrincipal"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "taskflow_common.djangoweb.errors.drf_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}


def channel_layers(cfg: NotifySettings) -> dict[str, Any]:
    if cfg.channel_layer == "memory":
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # Pub/sub, not the list-based RedisChannelLayer: the latter shares one capacity-100 queue
    # per process and silently drops in bursts. socket_timeout=None keeps idle subscribers
    # alive (redis-py's default read timeout would kill a quiet pub/sub connection).
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": cfg.redis_url,
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                "prefix": "taskflow-notify",
            },
        }
    }


def email(cfg: NotifySettings) -> dict[str, Any]:
    backends = {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
    }
    return {
        "EMAIL_BACKEND": backends[cfg.email_backend],
        "EMAIL_HOST": cfg.smtp_host,
        "EMAIL_PORT": cfg.smtp_port,
        "EMAIL_HOST_USER": cfg.smtp_user,
        "EMAIL_HOST_PASSWORD": cfg.smtp_password.get_secret_value(),
        "EMAIL_USE_TLS": cfg.smtp_use_tls,
        "EMAIL_TIMEOUT": cfg.smtp_timeout_seconds,
        "DEFAULT_FROM_EMAIL": cfg.email_from,
    }


def celery(cfg: NotifySettings) -> dict[str, Any]:
    """Celery's configuration (read by taskflow_notify.celery_app with namespace CELERY)."""
    return {
        "CELERY_BROKER_URL": cfg.broker_url,
        "CELERY_TASK_ALWAYS_EAGER": cfg.celery_eager,
        "CELERY_TASK_EAGER_PROPAGATES": False,
        # A delivery is acknowledged only once it has run; a killed worker's task is redelivered.
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
        "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        "CELERY_TASK_DEFAULT_QUEUE": cfg.celery_queue,
        "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
        "CELERY_TASK_IGNORE_RESULT": True,
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
    }


def service(cfg: NotifySettings) -> dict[str, Any]:
    """Everything notify needs, for its own processes (base.py)."""
    return {
        "TASKFLOW_NOTIFY": cfg,
        "DATABASES": {"default": database(cfg.database_url, cfg.db_schema)},
        "CHANNEL_LAYERS": channel_layers(cfg),
        **email(cfg),
        **celery(cfg),
    }

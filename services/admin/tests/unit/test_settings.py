"""What the admin settings make of the environment."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from taskflow_admin.config import AdminSettings
from taskflow_admin.settings.parts import sessions


def _production(**overrides: object) -> AdminSettings:
    return AdminSettings(
        env="production",
        secret_key=SecretStr("a-real-key-from-a-secret-store-0123456789"),
        keycloak_admin_ui_secret=SecretStr("a-real-client-secret-0123456789"),
        amqp_url="amqp://taskflow:a-real-password@rabbitmq:5672/",
        database_url="postgresql://taskflow:a-real-password@postgres:5432/taskflow",
        **overrides,  # type: ignore[arg-type]
    )


def test_production_cookies_are_secure_by_default() -> None:
    cookies = sessions(_production())
    assert cookies["SESSION_COOKIE_SECURE"] is True
    assert cookies["CSRF_COOKIE_SECURE"] is True
    assert cookies["SESSION_COOKIE_HTTPONLY"] is True


def test_development_cookies_travel_over_plain_http_unless_told() -> None:
    assert sessions(AdminSettings(env="development"))["SESSION_COOKIE_SECURE"] is False
    assert sessions(AdminSettings(env="development", secure_cookies=True))["CSRF_COOKIE_SECURE"]


def test_production_refuses_the_development_client_secret() -> None:
    with pytest.raises(ValidationError, match="keycloak_admin_ui_secret"):
        AdminSettings(
            env="production",
            secret_key=SecretStr("a-real-key-from-a-secret-store-0123456789"),
            amqp_url="amqp://taskflow:a-real-password@rabbitmq:5672/",
            database_url="postgresql://taskflow:a-real-password@postgres:5432/taskflow",
        )

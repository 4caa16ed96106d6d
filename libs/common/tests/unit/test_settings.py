import pytest
from pydantic import SecretStr, ValidationError

from taskflow_common.settings import BaseServiceSettings


class ExampleSettings(BaseServiceSettings):
    api_key: SecretStr = SecretStr("dev-secret-key")
    amqp_url: str = "amqp://guest:guest@127.0.0.1:55672/"


def test_development_accepts_the_dev_defaults(monkeypatch):
    monkeypatch.setenv("TASKFLOW_ENV", "development")

    assert ExampleSettings().api_key.get_secret_value() == "dev-secret-key"


def test_production_refuses_placeholder_secrets(monkeypatch):
    monkeypatch.setenv("TASKFLOW_ENV", "production")

    with pytest.raises(ValidationError, match="amqp_url, api_key"):
        ExampleSettings()


def test_production_accepts_real_secrets(monkeypatch):
    monkeypatch.setenv("TASKFLOW_ENV", "production")
    monkeypatch.setenv("TASKFLOW_API_KEY", "k-8f1c2d9a0b7e")
    monkeypatch.setenv("TASKFLOW_AMQP_URL", "amqps://taskflow:Zr8pQ2vX@rabbit:5671/")

    assert ExampleSettings().is_production


def test_otel_variables_are_read_unprefixed(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "taskflow-tasks")

    settings = ExampleSettings()

    assert settings.otel_exporter_otlp_endpoint == "http://127.0.0.1:4317"
    assert settings.otel_service_name == "taskflow-tasks"


def test_jwks_url_defaults_to_the_issuers_certs(monkeypatch):
    monkeypatch.setenv("TASKFLOW_OIDC_ISSUER", "http://kc/realms/taskflow")

    assert ExampleSettings().jwks_url == "http://kc/realms/taskflow/protocol/openid-connect/certs"

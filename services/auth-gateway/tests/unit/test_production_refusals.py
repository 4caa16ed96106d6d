import pytest

from taskflow_auth_gateway.bootstrap import create_app
from taskflow_auth_gateway.config import GatewaySettings
from taskflow_auth_gateway.infrastructure.identity.dev import (
    DevIdentityProvider,
    ProductionRefusedError,
)


def test_the_development_identity_provider_refuses_production(tmp_path):
    with pytest.raises(ProductionRefusedError):
        DevIdentityProvider(data_dir=tmp_path, issuer="http://x", environment="production")
    settings = GatewaySettings(
        env="production",
        identity_provider="development",
        keycloak_gateway_secret="a-real-secret-from-the-vault",
        data_dir=tmp_path,
    )
    with pytest.raises(ProductionRefusedError):
        create_app(settings)


def test_production_refuses_the_development_client_secret():
    # The settings base raises PlaceholderSecretError inside pydantic's validation.
    with pytest.raises(ValueError, match="keycloak_gateway_secret"):
        GatewaySettings(env="production")


def test_overriding_one_rate_limit_group_keeps_the_others(monkeypatch):
    monkeypatch.setenv(
        "TASKFLOW_RATE_LIMITS", '{"api": {"rate": 5, "period_seconds": 1, "burst": 5}}'
    )
    limits = GatewaySettings().rate_limits
    assert limits["api"].burst == 5
    assert limits["auth_credentials"].burst == 10

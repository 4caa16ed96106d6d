"""The development identity provider on disk: keys and users survive a restart."""

import jwt
import pytest

from taskflow_auth_gateway.application.ports import InvalidCredentialsError
from taskflow_auth_gateway.infrastructure.identity.dev import DevIdentityProvider
from taskflow_common.auth import JwksCache, JwtVerifier, static_jwks_source


async def test_tokens_issued_before_a_restart_still_verify_after_it(tmp_path):
    first = DevIdentityProvider(data_dir=tmp_path, issuer="http://embedded.test")
    user = await first.register("Restart", "restart@example.test", "long-password-1")
    tokens = await first.login("restart", "long-password-1")
    await first.close()

    second = DevIdentityProvider(data_dir=tmp_path, issuer="http://embedded.test")
    assert second.kid == first.kid
    verifier = JwtVerifier(
        issuer="http://embedded.test",
        audience="taskflow-api",
        jwks=JwksCache(static_jwks_source(second.jwks)),
    )
    principal = verifier.verify(tokens.access_token)
    assert principal.sub == user.id
    assert principal.username == "restart"
    assert principal.roles == frozenset({"user"})
    assert second.get_user(user.id) == (user.id, "restart", "restart@example.test")
    assert second.get_user("nobody") is None
    # The refresh token was stored too, and logout revokes its whole session.
    refreshed = await second.refresh(tokens.refresh_token)
    await second.logout(refreshed.refresh_token)
    await second.close()
    assert (tmp_path / "identity-signing-key.pem").stat().st_mode & 0o077 == 0


async def test_the_access_token_has_keycloaks_claim_shape(tmp_path):
    provider = DevIdentityProvider(data_dir=tmp_path, issuer="http://embedded.test")
    await provider.register("shape", "shape@example.test", "long-password-1")
    token = (await provider.login("shape@example.test", "long-password-1")).access_token
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256"
    assert header["kid"] == provider.kid
    assert claims["typ"] == "Bearer"
    assert claims["aud"] == "taskflow-api"
    assert claims["iss"] == "http://embedded.test"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["realm_access"] == {"roles": ["user"]}
    assert {"sub", "preferred_username", "email", "nbf", "jti"} <= set(claims)
    await provider.close()


async def test_configured_usernames_register_as_admins(tmp_path):
    provider = DevIdentityProvider(
        data_dir=tmp_path, issuer="http://embedded.test", admin_usernames=frozenset({"Root"})
    )
    await provider.register("root", "root@example.test", "long-password-1")
    await provider.register("plain", "plain@example.test", "long-password-1")
    for name, roles in (("root", ["user", "admin"]), ("plain", ["user"])):
        token = (await provider.login(name, "long-password-1")).access_token
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["realm_access"]["roles"] == roles
    await provider.close()


async def test_development_admins_carry_the_configured_admin_role(tmp_path):
    provider = DevIdentityProvider(
        data_dir=tmp_path,
        issuer="http://embedded.test",
        admin_usernames=frozenset({"ops"}),
        admin_role="taskflow-operators",
    )
    await provider.register("ops", "ops@example.test", "long-password-1")
    token = (await provider.login("ops", "long-password-1")).access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["realm_access"]["roles"] == ["user", "taskflow-operators"]
    await provider.close()


async def test_the_development_administrator_follows_its_configured_password(tmp_path):
    provider = DevIdentityProvider(data_dir=tmp_path, issuer="http://embedded.test")
    provider.ensure_administrator("admin", "first-password-1")
    provider.ensure_administrator("admin", "first-password-1")  # again: nothing changes
    first = jwt.decode(
        (await provider.login("admin", "first-password-1")).access_token,
        options={"verify_signature": False},
    )
    assert first["realm_access"]["roles"] == ["user", "admin"]

    provider.ensure_administrator("admin", "second-password-2")
    second = jwt.decode(
        (await provider.login("admin", "second-password-2")).access_token,
        options={"verify_signature": False},
    )
    assert second["sub"] == first["sub"]  # the same account, a new password
    with pytest.raises(InvalidCredentialsError):
        await provider.login("admin", "first-password-1")
    await provider.close()

"""The development identity provider (embedded mode): real RS256 JWTs shaped like Keycloak's.

Users live in JSON files with scrypt hashes (ADR 0206); the signing key is persisted so tokens
survive a restart; refresh tokens are opaque, stored hashed, rotated on use and revoked by
logout.
It refuses to exist when TASKFLOW_ENV=production.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from taskflow_auth_gateway.application.ports import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    NewUser,
    TokenSet,
    UserExistsError,
)
from taskflow_auth_gateway.infrastructure.identity.dev_store import (
    DevIdentityStore,
    DuplicateUserError,
    StoredUser,
    dummy_hash,
    hash_password,
    load_or_create_signing_key,
    verify_password,
)
from taskflow_auth_gateway.infrastructure.identity.validation import (
    check_password_policy,
    normalise_registration,
)

ACCESS_TOKEN_SECONDS = 300
REFRESH_TOKEN_SECONDS = 1800
CLIENT_ID = "taskflow-gateway"


class ProductionRefusedError(RuntimeError):
    """The development identity provider must never run in production."""


class DevIdentityProvider:
    def __init__(
        self,
        *,
        data_dir: Path,
        issuer: str,
        audience: str = "taskflow-api",
        environment: str = "development",
        admin_usernames: frozenset[str] = frozenset(),
        admin_role: str = "admin",
    ) -> None:
        if environment == "production":
            raise ProductionRefusedError(
                "The development identity provider refuses to run with TASKFLOW_ENV=production;"
                " use Keycloak (TASKFLOW_IDENTITY_PROVIDER=keycloak)."
            )
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self._admins = frozenset(u.lower() for u in admin_usernames)
        self._admin_role = admin_role
        self._store = DevIdentityStore(data_dir)
        self._key: rsa.RSAPrivateKey = load_or_create_signing_key(
            data_dir / "identity-signing-key.pem"
        )
        public_jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self.kid = _thumbprint(public_jwk)
        self._jwks = {"keys": [{**public_jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    # --- what the embedded composition needs ---------------------------------------------

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/auth/jwks",
            "token_endpoint": f"{self.issuer}/auth/login",
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["token"],
            "grant_types_supported": ["password", "refresh_token"],
        }

    def get_user(self, user_id: str) -> tuple[str, str, str] | None:
        """(id, username, email) of a user, for services that need addresses (notify)."""
        user = self._store.get(user_id)
        return None if user is None else (user.id, user.username, user.email)

    def ensure_administrator(self, username: str, password: str) -> None:
        """The development administrator exists with this password and the admin role (the
        password is the configured one: a changed TASKFLOW_DEV_ADMIN_PASSWORD takes effect)."""
        username = username.strip().lower()
        user = self._store.find_by_login(username)
        if user is not None and verify_password(password, user.password_hash):
            if self._admin_role in user.roles:
                return
            password_hash = user.password_hash
        else:
            password_hash = hash_password(password)
        roles = tuple(dict.fromkeys([*(user.roles if user else ("user",)), self._admin_role]))
        self._store.replace_user(
            StoredUser(
                id=user.id if user else str(uuid.uuid4()),
                username=user.username if user else username,
                email=user.email if user else f"{username}@taskflow.invalid",
                password_hash=password_hash,
                roles=roles,
            )
        )

    # --- IdentityProvider ------------------------------------------------------------------

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._store.close()

    async def check(self) -> None:
        await asyncio.to_thread(self._store.ping)

    async def register(self, username: str, email: str, password: str) -> NewUser:
        username, email = normalise_registration(username, email)
        check_password_policy(password, username, email)
        if await asyncio.to_thread(self._store.exists, username, email):
            raise UserExistsError("A user with this username or email already exists.")
        roles = ("user", self._admin_role) if username in self._admins else ("user",)
        user = StoredUser(
            id=str(uuid.uuid4()),
            username=username,
            email=email,
            password_hash=await asyncio.to_thread(hash_password, password),
            roles=roles,
        )
        try:
            await asyncio.to_thread(self._store.add_user, user)
        except DuplicateUserError as exc:  # lost a race with a concurrent registration
            raise UserExistsError("A user with this username or email already exists.") from exc
        return NewUser(user.id, user.username, user.email)

    async def login(self, username: str, password: str) -> TokenSet:
        return await self.sign_in(await self.authenticate(username, password))

    async def authenticate(self, username: str, password: str) -> StoredUser:
        """The user these credentials are, or InvalidCredentialsError."""
        user = await asyncio.to_thread(self._store.find_by_login, username.strip().lower())
        # Verify against a dummy hash for unknown users so both failures cost the same time.
        encoded = user.password_hash if user else dummy_hash()
        ok = await asyncio.to_thread(verify_password, password, encoded)
        if user is None or not ok:
            raise InvalidCredentialsError("Invalid username or password.")
        return user

    async def user(self, user_id: str) -> StoredUser | None:
        return await asyncio.to_thread(self._store.get, user_id)

    async def refresh(self, refresh_token: str) -> TokenSet:
        successor = secrets.token_urlsafe(32)
        found = await asyncio.to_thread(
            self._store.rotate_refresh_token,
            refresh_token,
            successor,
            time.time() + REFRESH_TOKEN_SECONDS,
        )
        user = await asyncio.to_thread(self._store.get, found[0]) if found else None
        if user is None:
            raise InvalidRefreshTokenError("The refresh token is invalid, expired or revoked.")
        return self._token_set(user, successor)

    async def logout(self, refresh_token: str) -> None:
        if not await asyncio.to_thread(self._store.end_session, refresh_token):
            raise InvalidRefreshTokenError("The refresh token is invalid, expired or revoked.")

    # --- tokens ------------------------------------------------------------------------------

    def access_token_for(self, user: StoredUser, now: int | None = None) -> str:
        now = int(time.time()) if now is None else now
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user.id,
            "typ": "Bearer",
            "azp": CLIENT_ID,
            "preferred_username": user.username,
            "email": user.email,
            "email_verified": True,
            "realm_access": {"roles": list(user.roles)},
            "scope": "openid profile email",
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def id_token_for(
        self, user: StoredUser, *, client_id: str, session_id: str, nonce: str | None
    ) -> str:
        """An OpenID Connect ID token for `client_id` (the authorization-code flow); `sid`
        names the login session, which a logout with this token as hint ends."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": client_id,
            "azp": client_id,
            "sub": user.id,
            "sid": session_id,
            "typ": "ID",
            "preferred_username": user.username,
            "email": user.email,
            "email_verified": True,
            "iat": now,
            "exp": now + ACCESS_TOKEN_SECONDS,
            "jti": str(uuid.uuid4()),
            **({"nonce": nonce} if nonce else {}),
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    async def sign_in(self, user: StoredUser, session_id: str | None = None) -> TokenSet:
        """A new login session's first tokens (`session_id`: the session's id, when the caller
        names it in an ID token)."""
        refresh = secrets.token_urlsafe(32)
        await asyncio.to_thread(
            self._store.add_refresh_token,
            refresh,
            user.id,
            session_id or str(uuid.uuid4()),
            time.time() + REFRESH_TOKEN_SECONDS,
        )
        return self._token_set(user, refresh)

    def session_of(self, id_token: str, client_id: str) -> str | None:
        """The `sid` of an ID token this provider signed for `client_id` (expired or not: a
        logout may come after the token's five minutes), or None when it is not one."""
        try:
            claims = jwt.decode(
                id_token,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=client_id,
                issuer=self.issuer,
                options={"verify_exp": False},
            )
        except jwt.InvalidTokenError:
            return None
        sid = claims.get("sid")
        return sid if isinstance(sid, str) else None

    async def end_session(self, session_id: str) -> bool:
        return await asyncio.to_thread(self._store.end_session_by_id, session_id)

    def _token_set(self, user: StoredUser, refresh_token: str) -> TokenSet:
        return TokenSet(
            access_token=self.access_token_for(user),
            refresh_token=refresh_token,
            expires_in=ACCESS_TOKEN_SECONDS,
            refresh_expires_in=REFRESH_TOKEN_SECONDS,
        )


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint of an RSA key: a stable kid across restarts."""
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

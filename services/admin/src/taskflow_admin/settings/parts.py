"""Admin's pieces of a Django settings module (also merged by the embedded mode)."""

from __future__ import annotations

from typing import Any

from taskflow_admin.config import AdminSettings

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "taskflow_admin",
]

MIDDLEWARE = [
    # Static files first: they need no session, user or CSRF check.
    "taskflow_admin.static_files.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "taskflow_admin.identity.middleware.SignInAgainMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

CONTEXT_PROCESSORS = [
    "django.template.context_processors.request",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
]


# WhiteNoise (taskflow_admin.static_files) serves the installed apps' static files as they are
# found at start: no collectstatic step, nothing to refresh in a running process.
STATIC_FILES = {"STATIC_URL": "/static/", "WHITENOISE_USE_FINDERS": True}


def sessions(cfg: AdminSettings) -> dict[str, Any]:
    """The admin site's cookies: Secure behind TLS, never readable by scripts, Lax so the
    identity provider's redirect back to the callback still carries the session."""
    return {
        "SESSION_COOKIE_SECURE": cfg.cookies_secure,
        "CSRF_COOKIE_SECURE": cfg.cookies_secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        # At most Keycloak's longest SSO session (ssoSessionMaxLifespan, 10 h).
        "SESSION_COOKIE_AGE": 10 * 3600,
    }


def oidc(cfg: AdminSettings) -> dict[str, Any]:
    """Sign-in through the identity provider (mozilla-django-oidc): code flow with PKCE.

    Only the OIDC backend authenticates: there is no local password login in any mode.
    """
    return {
        "AUTHENTICATION_BACKENDS": ["taskflow_admin.identity.backend.AdminOidcBackend"],
        "LOGIN_URL": "taskflow_admin_login",
        "LOGIN_REDIRECT_URL": "admin:index",
        # A path, not a URL name: the library redirects to it as it is.
        "LOGIN_REDIRECT_URL_FAILURE": "/admin/oidc/refused/",
        "OIDC_RP_CLIENT_ID": cfg.keycloak_admin_ui_client_id,
        "OIDC_RP_CLIENT_SECRET": cfg.keycloak_admin_ui_secret.get_secret_value(),
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": "openid profile email",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": cfg.authorization_url,
        "OIDC_OP_TOKEN_ENDPOINT": cfg.token_url,
        # Never called (roles and names come from the verified tokens), but the library needs one.
        "OIDC_OP_USER_ENDPOINT": f"{cfg.oidc_issuer.rstrip('/')}/protocol/openid-connect/userinfo",
        "OIDC_OP_JWKS_ENDPOINT": cfg.jwks_url,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_TIMEOUT": cfg.oidc_timeout_seconds,
    }

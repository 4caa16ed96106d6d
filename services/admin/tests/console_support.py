"""A Django test client signed in to the admin site as a real Keycloak administrator.

The session holds what the OIDC login keeps (the Django user and the administrator's tokens),
so pages call upstream with a real token; the tokens come from the real Keycloak.
"""

from __future__ import annotations

import time
from typing import Any

from taskflow_common.testing import KeycloakRealm, TestUser


def signed_in_client(realm: KeycloakRealm, admin: TestUser) -> Any:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from taskflow_admin.identity.tokens import SESSION_KEY

    user, _ = get_user_model().objects.get_or_create(
        username=admin.username, defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    tokens = realm.login(admin)
    session = client.session
    session[SESSION_KEY] = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens.get("refresh_token"),
        "expires_at": time.time() + float(tokens["expires_in"]),
    }
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client

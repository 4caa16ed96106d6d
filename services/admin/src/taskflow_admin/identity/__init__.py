"""Who is signed in to the admin site, and the token they call other services with."""

from taskflow_admin.identity.tokens import (
    IdentityUnavailableError,
    UpstreamTokenMissingError,
    upstream_token,
)

__all__ = ["IdentityUnavailableError", "UpstreamTokenMissingError", "upstream_token"]

"""Test helpers shared by every service's test suite (never imported by production code).

Tests that need a real component call `require_component`, which fails loudly (never skips)
with the command that starts it.
"""

from taskflow_common.testing.keycloak import KeycloakRealm, TestUser
from taskflow_common.testing.stack import STACK, StackEndpoint, require_component

__all__ = ["STACK", "KeycloakRealm", "StackEndpoint", "TestUser", "require_component"]

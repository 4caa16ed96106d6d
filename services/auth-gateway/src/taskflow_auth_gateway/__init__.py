"""taskflow_auth_gateway."""

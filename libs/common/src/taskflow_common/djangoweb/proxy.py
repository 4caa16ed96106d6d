"""Django behind the gateway: believe the scheme and host the gateway forwards.

The gateway is the only way in, and it sets X-Forwarded-Proto and X-Forwarded-Host itself
(from its own listener, or from a proxy in front of it that it is configured to trust), never
passing a client's values through. Without trusting them, every request behind TLS looks like
plain http to Django, and the admin login form fails Django's CSRF origin check.
"""

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = True

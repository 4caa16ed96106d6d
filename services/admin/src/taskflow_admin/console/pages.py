"""What every console page shares: the admin site's context and the acting administrator."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from taskflow_admin.audit import Actor
from taskflow_admin.identity import upstream_token
from taskflow_admin.identity.tokens import admin_principal


def actor_of(request: HttpRequest) -> Actor:
    """The signed-in administrator as Keycloak knows them (their token's verified subject)."""
    principal = admin_principal(upstream_token(request))
    return Actor(id=principal.sub, username=principal.username)


def render_page(
    request: HttpRequest, template: str, title: str, context: dict[str, Any]
) -> HttpResponse:
    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "title": title, **context},
    )

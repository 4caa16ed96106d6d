"""The admin site's sign-in, logout and 403 pages around the OIDC login."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, auth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from taskflow_admin.identity.backend import ID_TOKEN_KEY, REFUSED_KEY
from taskflow_admin.identity.tokens import admin_settings


def sign_in_url(next_url: str) -> str:
    return reverse("oidc_authentication_init") + "?" + urlencode({"next": next_url})


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    """Django admin's login URL: there is no password form, only the identity provider."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("admin:index")
    if request.user.is_authenticated and request.user.is_staff:
        return HttpResponseRedirect(next_url)
    if request.user.is_authenticated:
        return refused_page(request, request.user.get_username())
    return HttpResponseRedirect(sign_in_url(next_url))


@require_GET
def refused(request: HttpRequest) -> HttpResponse:
    """Where a sign-in that did not end in an admin session lands."""
    return refused_page(request, request.session.get(REFUSED_KEY))


def refused_page(request: HttpRequest, username: str | None) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Not an administrator" if username else "Sign-in failed",
        "username": username,
        "admin_role": admin_settings().admin_role,
        "sign_in_url": sign_in_url(reverse("admin:index")),
    }
    return render(request, "taskflow_admin/refused.html", context, status=403)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the Django session, then the identity provider's (with the ID token as hint)."""
    id_token = request.session.get(ID_TOKEN_KEY)
    auth.logout(request)
    signed_out = request.build_absolute_uri(reverse("taskflow_admin_signed_out"))
    if not id_token:
        return HttpResponseRedirect(signed_out)
    cfg = admin_settings()
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": signed_out,
            "client_id": cfg.keycloak_admin_ui_client_id,
        }
    )
    return HttpResponseRedirect(f"{cfg.end_session_url}?{query}")


@require_GET
def signed_out(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Signed out",
        "sign_in_url": sign_in_url(reverse("admin:index")),
    }
    return render(request, "taskflow_admin/signed_out.html", context)

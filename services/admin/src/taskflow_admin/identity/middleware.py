"""Turns a missing or refused upstream token into a new sign-in instead of an error page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.deprecation import MiddlewareMixin

from taskflow_admin.identity.tokens import IdentityUnavailableError, UpstreamTokenMissingError
from taskflow_admin.identity.views import sign_in_url


class SignInAgainMiddleware(MiddlewareMixin):
    """Works in both modes (MiddlewareMixin), so requests take no thread hop through it."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UpstreamTokenMissingError):
            # After a POST the form is gone: come back to the page it was posted from.
            target = request.get_full_path() if request.method == "GET" else request.path
            return HttpResponseRedirect(sign_in_url(target))
        if isinstance(exception, IdentityUnavailableError):
            return HttpResponse(
                "The identity provider is unavailable; try again in a moment.",
                status=503,
                content_type="text/plain; charset=utf-8",
                headers={"Retry-After": "5"},
            )
        return None

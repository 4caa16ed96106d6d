"""The admin site's identity routes, mounted before `admin.site.urls` so they win."""

from __future__ import annotations

from django.urls import URLPattern, path
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from taskflow_admin.identity import views
from taskflow_admin.identity.backend import AdminCallbackView

urlpatterns: list[URLPattern] = [
    path(
        "admin/oidc/authenticate/",
        OIDCAuthenticationRequestView.as_view(),
        name="oidc_authentication_init",
    ),
    path("admin/oidc/callback/", AdminCallbackView.as_view(), name="oidc_authentication_callback"),
    path("admin/oidc/refused/", views.refused, name="taskflow_admin_refused"),
    path("admin/oidc/signed-out/", views.signed_out, name="taskflow_admin_signed_out"),
    path("admin/login/", views.login, name="taskflow_admin_login"),
    path("admin/logout/", views.logout, name="taskflow_admin_logout"),
]

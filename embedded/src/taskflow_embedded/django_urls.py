"""The embedded mode's one URLconf: notify's and admin's routes side by side."""

from __future__ import annotations

from taskflow_admin.urls import api_urlpatterns as admin_urlpatterns
from taskflow_common.djangoweb.ops import ops_urlpatterns
from taskflow_notify.urls import api_urlpatterns as notify_urlpatterns

urlpatterns = [*ops_urlpatterns(), *notify_urlpatterns, *admin_urlpatterns]

handler400 = "taskflow_common.djangoweb.errors.handler400"
handler403 = "taskflow_common.djangoweb.errors.handler403"
handler404 = "taskflow_common.djangoweb.errors.handler404"
handler500 = "taskflow_common.djangoweb.errors.handler500"

"""The admin site's sign-in is under the same per-IP credentials limit as /auth/login."""

import httpx
from gateway_support import dev_gateway, serving, upstream_app

from taskflow_auth_gateway.infrastructure.upstream.http import HttpUpstream


async def test_the_admin_sign_in_start_and_callback_are_limited_per_ip(tmp_path):
    async with serving(upstream_app()) as upstream_url:
        app, _ = dev_gateway(tmp_path, {"admin": HttpUpstream("admin", upstream_url)})
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            starts = [(await client.get("/admin/oidc/authenticate/")).status_code for _ in range(6)]
            callbacks = [
                (await client.get("/admin/oidc/callback/?code=x&state=y")).status_code
                for _ in range(5)
            ]
            # Other admin pages and static files are under the general limit only.
            page = await client.get("/admin/")
            css = await client.get("/static/admin/css/base.css")
    assert starts == [200] * 6  # the upstream's echo
    assert callbacks[:4] == [200] * 4
    assert callbacks[4] == 429  # 10 per minute per IP, shared by both paths
    assert css.status_code == 200
    assert page.status_code == 200

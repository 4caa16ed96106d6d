"""/auth/oidc/*: the development provider's authorization, login, token and end-session
endpoints (embedded mode only; application/code_flow.py has the rules).

The password form posts to /auth/oidc/login, which the gateway limits like /auth/login
(limits.AUTH_GROUPS); the page itself is not limited, so showing it again costs nothing.
"""

from __future__ import annotations

import base64
import binascii
from html import escape
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from taskflow_auth_gateway.application.code_flow import (
    AuthorizationRequest,
    BadAuthorizationRequestError,
    DevAuthorizationServer,
    TokenRequestError,
)
from taskflow_auth_gateway.application.ports import (
    IdentityUnavailableError,
    InvalidCredentialsError,
)

# The page loads nothing and may post only to this origin; no other site may frame it.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
_STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; background: #f4f5f7; margin: 0; }
main { max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; } p.note { color: #555; margin: 0 0 1.25rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem;
       border: 1px solid #bbb; border-radius: 4px; font: inherit; }
button { margin-top: 1.25rem; width: 100%; padding: .6rem; border: 0; border-radius: 4px;
       background: #264b5d; color: #fff; font: inherit; cursor: pointer; }
p.error { color: #a11; background: #fdecec; padding: .5rem; border-radius: 4px; }
"""


def dev_oidc_router(server: DevAuthorizationServer) -> APIRouter:
    router = APIRouter(prefix="/auth/oidc", include_in_schema=False)

    @router.get("/authorize")
    async def authorize(request: Request) -> Response:
        try:
            checked = server.check_request(dict(request.query_params))
        except BadAuthorizationRequestError as exc:
            return _message_page("Sign-in request refused", str(exc), status=400)
        return _login_page(checked)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = _form(await request.body())
        try:
            checked = server.check_request(form)
        except BadAuthorizationRequestError as exc:
            return _message_page("Sign-in request refused", str(exc), status=400)
        username = form.get("username", "")
        try:
            redirect = await server.approve(checked, username, form.get("password", ""))
        except InvalidCredentialsError:
            return _login_page(
                checked, username=username, error="Invalid username or password.", status=401
            )
        except IdentityUnavailableError as exc:
            return _message_page("Sign-in unavailable", exc.detail, status=503)
        return RedirectResponse(redirect, status_code=303, headers={"Cache-Control": "no-store"})

    @router.post("/token")
    async def token(request: Request) -> Response:
        try:
            answer = await server.token(
                _form(await request.body()), _basic(request.headers.get("authorization"))
            )
        except TokenRequestError as exc:
            return JSONResponse(
                {"error": exc.error, "error_description": exc.description},
                status_code=exc.status,
                headers={"Cache-Control": "no-store"},
            )
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @router.get("/logout")
    async def logout(request: Request) -> Response:
        after = await server.end_session(dict(request.query_params))
        if after is not None:
            return RedirectResponse(after, status_code=303)
        return _message_page("Signed out", "Your development sign-in session has ended.")

    return router


def _form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, the first value of each field."""
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def _basic(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _login_page(
    request: AuthorizationRequest, *, username: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in request.as_form().items()
    )
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""
<h1>Sign in to TaskFlow</h1>
<p class="note">Development identity provider (embedded mode)</p>
{problem}
<form id="taskflow-login" method="post" action="/auth/oidc/login">
{hidden}
<label for="username">Username or email</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus
       value="{escape(username)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>"""
    return _page("Sign in to TaskFlow", body, status)


def _message_page(title: str, message: str, *, status: int = 200) -> HTMLResponse:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>", status)


def _page(title: str, body: str, status: int) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)

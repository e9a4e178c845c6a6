"""Security headers for every response and the form token (CSRF) of every form, each in one place."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.base import csrf_token as litestar_csrf_token
from litestar.types import Message, Scope

from app.i18n import N_
from app.page_cache import HEADERS_CHOSEN, per_request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


# Route option of a page made to be shown in a frame on the city's own sites (the embeddable
# calendar and polls): framing is allowed for the origins in TORI_EMBED_ORIGINS, and for no one
# when that is empty. Every other page refuses every frame.
EMBEDDABLE = {"embeddable": True}


def content_security_policy(
    frame_ancestors: tuple[str, ...] = (), form_targets: tuple[str, ...] = ()
) -> str:
    """The policy, with `frame_ancestors` allowed to frame the page, and `form_targets` (origins)
    allowed as form targets besides this site.

    A form's redirect counts as its target: the identify buttons post to Tori, which redirects
    to the identity provider, so the provider's origin must be allowed (found by the browser
    journey: with `form-action 'self'` alone Chromium blocked strong identification)."""
    policy = CONTENT_SECURITY_POLICY
    if frame_ancestors:
        policy = policy.replace(
            "frame-ancestors 'none'", "frame-ancestors " + " ".join(frame_ancestors)
        )
    if form_targets:
        policy = policy.replace(
            "form-action 'self'", " ".join(["form-action 'self'", *form_targets])
        )
    return policy


def origin_of(url: str | None) -> tuple[str, ...]:
    """The scheme, host and port of `url`, for the policy; none for a missing or odd address."""
    parts = urlsplit(url or "")
    if (
        parts.scheme not in {"http", "https"}
        or not parts.netloc
        or any(c in parts.netloc for c in "'; ,\t")
    ):
        return ()
    return (f"{parts.scheme}://{parts.netloc}",)


def security_headers(
    *, https: bool, embed_origins: tuple[str, ...] = (), form_targets: tuple[str, ...] = ()
):
    policy = content_security_policy(form_targets=form_targets)
    embedded_policy = content_security_policy(embed_origins, form_targets)

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        route_handler = scope.get("route_handler")
        if embed_origins and route_handler is not None and route_handler.opt.get("embeddable"):
            # X-Frame-Options cannot name several origins; frame-ancestors supersedes it.
            headers["Content-Security-Policy"] = embedded_policy
        else:
            headers["Content-Security-Policy"] = policy
            headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if https:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        content_type = headers.get("content-type", "")
        if content_type.startswith("text/html") and not scope.get("state", {}).get(HEADERS_CHOSEN):
            # Pages depend on the language cookie and the signed-in user; never share them in caches.
            headers["Cache-Control"] = "no-store"
            headers["Vary"] = "Cookie, Accept-Language"

    return add_security_headers


# --- The form token (CSRF): one mechanism for every route and every rendered form ----------
#
# Litestar's CSRF middleware guards most routes: it checks a state-changing request and, on a
# page, keeps the token for the form. The residents' busiest posts (questionnaire answers, poll
# votes) are excluded from it (`FORM_TOKEN_CHECKED_BY_HANDLER`), because they must do more than
# refuse: a refused answer sheet is shown again with the resident's answers. Those handlers call
# `form_token_accepted`; every template calls `csrf_token()`, which is `form_token` below, so a
# form rendered on any route - guarded or not, refused or not - carries a token that the next
# request will accept. One cookie serves both, so the token has the middleware's format: 32
# random bytes in hex, then their HMAC-SHA256 (hex) keyed with `CSRFConfig.secret`. Only public
# parts of Litestar are used here (the config); `tests/surveys/test_form_tokens.py` checks that
# the middleware accepts our tokens and we accept its.

FORM_TOKEN_FIELD = "_csrf_token"  # noqa: S105 - a field name, not a secret
# Route option of a handler that checks the form token itself, with `form_token_accepted`.
FORM_TOKEN_CHECKED_BY_HANDLER = {"exclude_from_csrf": True}
# Shown above a form sent again after its token was refused; the answers are kept.
FORM_EXPIRED = N_(
    "The form had expired, so nothing was sent yet. Your answers are kept: check them and send again."
)
_STATE_TOKEN = "form_token"  # noqa: S105 - a request-state key, not a secret
_STATE_NEW_COOKIE = "form_token_cookie"
_MAX_TOKEN_LENGTH = 256
_RANDOM_BYTES = 32
_RANDOM_LENGTH = 2 * _RANDOM_BYTES

log = logging.getLogger("tori.security")


def _mac(value: str, secret: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def new_form_token(secret: str) -> str:
    """A new token: random, with our MAC."""
    value = secrets.token_hex(_RANDOM_BYTES)
    return value + _mac(value, secret)


def _genuine(token: str, secret: str) -> str | None:
    """The random part of a token whose MAC is ours, else None."""
    if not _RANDOM_LENGTH < len(token) <= _MAX_TOKEN_LENGTH:
        return None
    value, mac = token[:_RANDOM_LENGTH], token[_RANDOM_LENGTH:]
    return value if hmac.compare_digest(mac, _mac(value, secret)) else None


def form_token(request: Request) -> str:
    """The token a form rendered for this request carries (the templates' `csrf_token()`); in a
    shared page, a stand-in replaced for each request it is served to (app/page_cache.py)."""
    return per_request(request, _form_token)


def _form_token(request: Request) -> str:
    """The one the CSRF middleware chose on a route it guards; else this browser's cookie when it
    is genuine; else a new token, whose cookie `form_token_cookie` sets on the response.
    """
    state = request.state
    token = state.get(_STATE_TOKEN) or litestar_csrf_token({"request": request})
    if not token:
        config = request.app.csrf_config
        cookie = request.cookies.get(config.cookie_name, "")
        if _genuine(cookie, config.secret):
            token = cookie
        else:
            token = state[_STATE_NEW_COOKIE] = new_form_token(config.secret)
    state[_STATE_TOKEN] = token
    return token


def form_token_accepted(request: Request, fields: dict[str, list[str]]) -> bool:
    """The double-submit check of a handler excluded from the CSRF middleware: the form's token
    (or the htmx header's) is this browser's cookie, both with our MAC. A refusal is logged."""
    config = request.app.csrf_config
    sent = (fields.get(FORM_TOKEN_FIELD) or [""])[0] or request.headers.get(config.header_name, "")
    cookie = request.cookies.get(config.cookie_name, "")
    ours = _genuine(sent, config.secret)
    if ours is not None and ours == _genuine(cookie, config.secret):
        request.state[_STATE_TOKEN] = cookie
        return True
    if not sent or ours is None:
        reason = "the form's token is missing or not genuine"
    elif not cookie:
        reason = "the browser sent no token cookie (expired or cleared)"
    else:
        reason = "the form's token is not this browser's"
    log.warning("form refused (CSRF): %s on %s %s", reason, request.method, request.url.path)
    return False


def register_form_token(engine: JinjaTemplateEngine) -> None:
    """Templates' `csrf_token()` is `form_token` (a `TemplateConfig.engine_callback`)."""
    engine.register_template_callable(
        key="csrf_token", template_callable=lambda context: form_token(context["request"])
    )


async def form_token_cookie(message: Message, scope: Scope) -> None:
    """A `before_send` hook: the cookie of a token that `form_token` made for this response."""
    if message["type"] != "http.response.start":
        return
    token = scope.get("state", {}).get(_STATE_NEW_COOKIE)
    if token:
        config = scope["litestar_app"].csrf_config
        cookie = Cookie(
            key=config.cookie_name,
            value=token,
            path=config.cookie_path,
            secure=config.cookie_secure,
            httponly=config.cookie_httponly,
            samesite=config.cookie_samesite,
            domain=config.cookie_domain,
        )
        MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))

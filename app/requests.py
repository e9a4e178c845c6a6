"""Small questions every feature asks of a request."""

from __future__ import annotations

from litestar import Request


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (it then wants a fragment, not the whole page)."""
    return request.headers.get("hx-request") == "true"


def client_address(request: Request) -> str:
    """The address the request came from, for rate limits only (never stored in the clear)."""
    return request.client.host if request.client else "unknown"


def local_path(target: str | None, default: str) -> str:
    """A path on this site to go on to after a form: never an open redirect, never oversized."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:300]
    return default


def site_url(request: Request, path: str = "/") -> str:
    """The absolute address of `path` (which starts with /) on this site, as the request reached
    it: for QR codes, posters, kiosk links and links in e-mail."""
    return str(request.base_url).rstrip("/") + path

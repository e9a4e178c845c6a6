"""Small questions every feature asks of a request."""

from __future__ import annotations

import re

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
    """The absolute address of `path` (which starts with /) on this site: for QR codes, posters,
    kiosk links and links in e-mail. The configured public address (TORI_SITE_URL, required in
    production); in development, the address the request reached."""
    from app.state import SETTINGS  # noqa: PLC0415 - app.state imports nothing of this module

    configured = SETTINGS.of(request).site_url
    return (configured or str(request.base_url).rstrip("/")) + path


_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")


def ascii_int(
    value: str | None, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """A non-negative whole number written in ASCII digits 0-9, within the bounds; else None.

    `str.isdecimal()` and `int()` also take other scripts' digits (Arabic-Indic "٧", fullwidth
    "７"): `?budget=%D9%A7` passed as 7, then the name echoed into a header could not be encoded
    and the page was a 500. Every number read from a query or a form goes through here."""
    if value is None or not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        return None
    return number


def path_numbers_are_canonical(request: Request) -> bool:
    """Whether every whole-number part of the path is written as Tori writes it: ASCII digits,
    no sign, no leading zero, no underscore. The router's `int` takes what `int()` takes
    (`/events/١/report`, `/events/+1`, `/events/1_0` for 10): each page then had many
    addresses, and many entries in the shared-page cache."""
    numbers = [
        str(v)
        for v in request.path_params.values()
        if isinstance(v, int) and not isinstance(v, bool)
    ]
    if not numbers:
        return True
    segments = [
        segment for segment in request.url.path.split("/") if _ASCII_DIGITS.fullmatch(segment)
    ]
    for number in numbers:
        if number not in segments:
            return False
        segments.remove(number)
    return True

"""What a resident's own device remembers: which questionnaires and polls it has answered.

A signed cookie (the device can read but not alter it) holds the latest ids; it is the
only memory of taking part, and no record in the database points back to it.
"""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import Cookie

from app.cookies import private_cookie
from app.signing import sign, unsign

REMEMBERED = 40
ONE_YEAR_SECONDS = 365 * 24 * 3600


def remembered_ids(request: Request, secret: str, cookie: str, purpose: str) -> list[str]:
    value = unsign(secret, purpose, request.cookies.get(cookie))
    return [item for item in (value or "").split(",") if item.isdecimal()]


def remember_cookie(
    request: Request, secret: str, cookie: str, purpose: str, new_id: int, *, path: str, https: bool
) -> Cookie:
    """The cookie that adds `new_id` to what this device remembers."""
    ids = [str(new_id), *remembered_ids(request, secret, cookie, purpose)][:REMEMBERED]
    return private_cookie(
        cookie,
        sign(secret, purpose, ",".join(ids)),
        secure=https,
        max_age=ONE_YEAR_SECONDS,
        path=path,
    )

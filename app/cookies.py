"""The cookies Tori sets for itself: one shape, so that none is readable by scripts or sent along
with another site's form posts."""

from __future__ import annotations

from litestar.datastructures import Cookie


def private_cookie(key: str, value: str, *, secure: bool, max_age: int, path: str = "/") -> Cookie:
    """A cookie for the server only (HttpOnly) that another site's form post does not carry
    (SameSite=Lax; a top-level GET, such as an identity provider's redirect back, does), sent over
    HTTPS only when the site is served over it, for `max_age` seconds below `path`."""
    return Cookie(
        key=key,
        value=value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=secure,
    )

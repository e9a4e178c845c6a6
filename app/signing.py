"""Small signed values for cookies: the client can read them but cannot forge or alter them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def sign(secret: str, purpose: str, value: str) -> str:
    mac = hmac.new(secret.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256).digest()[:16]
    payload = base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
    return f"{payload}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def unsign(secret: str, purpose: str, signed: str | None, max_length: int = 2048) -> str | None:
    """The value, or None when the cookie is missing, altered, forged or oversized."""
    if not signed or len(signed) > max_length or signed.count(".") != 1 or not signed.isascii():
        return None
    payload, _mac = signed.split(".")
    try:
        value = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return value if hmac.compare_digest(sign(secret, purpose, value), signed) else None


def form_token(secret: str, purpose: str, scope: str, nonce: str | None = None) -> str:
    """A one-use token for a public form: a random nonce and its MAC for this purpose and scope.

    Stored with what the form creates under a unique constraint, so that a double tap or a
    retried request creates one record; a token made up by the client is refused.
    """
    nonce = nonce or secrets.token_hex(12)
    mac = hmac.new(secret.encode(), f"{purpose}\0{scope}\0{nonce}".encode(), hashlib.sha256)
    return f"{nonce}.{mac.hexdigest()[:32]}"


def form_token_is_genuine(secret: str, purpose: str, scope: str, token: str) -> bool:
    nonce, _, _mac = token.partition(".")
    return (
        token.isascii()
        and len(token) <= 64
        and len(nonce) == 24
        and hmac.compare_digest(form_token(secret, purpose, scope, nonce), token)
    )

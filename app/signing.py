"""Small signed values for cookies: the client can read them but cannot forge or alter them."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, purpose: str, value: str) -> str:
    mac = hmac.new(secret.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256).digest()[:16]
    payload = base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
    return f"{payload}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def unsign(secret: str, purpose: str, signed: str | None, max_length: int = 2048) -> str | None:
    """The value, or None when the cookie is missing, altered, forged or oversized."""
    if not signed or len(signed) > max_length or signed.count(".") != 1:
        return None
    payload, _mac = signed.split(".")
    try:
        value = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return value if hmac.compare_digest(sign(secret, purpose, value), signed) else None

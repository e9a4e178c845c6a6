"""Signed values for cookies and forms (itsdangerous): the client can read them but cannot forge
or alter them, and a value signed for one purpose is refused for any other (the purpose is the
signer's salt)."""

from __future__ import annotations

import functools
import secrets

from itsdangerous import BadData, Signer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode


class _Serializer(URLSafeTimedSerializer):
    """itsdangerous' serializer with its signer made once: the serializer makes a new signer for
    every value signed or read (a profile of casting found it in every request), and a signer
    holds only its settings (the keys, the salt), so one serves every call."""

    @functools.cached_property
    def _signer(self) -> Signer:
        return super().make_signer()

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is None or salt == self.salt:
            return self._signer
        return super().make_signer(salt)


@functools.lru_cache(maxsize=128)
def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    """One serializer per key and purpose (the purposes are the code's few fixed names)."""
    return _Serializer(secret, salt=purpose)


def _mac_is_canonical(signed: str) -> bool:
    """Whether the MAC after the last dot is spelled the one way itsdangerous writes it.

    A 20-byte MAC in 27 base64 characters leaves two spare bits in the last character, which
    the decoder ignores: without this check four spellings of one token are all genuine, so a
    one-use form token could be used four times under a unique constraint on its text.
    """
    mac = signed.rpartition(".")[2]
    try:
        return base64_encode(base64_decode(mac)).decode() == mac
    except BadData:
        return False


def sign(secret: str, purpose: str, value: str) -> str:
    """`value` with the time it was signed and a MAC, in characters safe for a cookie or URL."""
    return _serializer(secret, purpose).dumps(value)


def unsign(
    secret: str,
    purpose: str,
    signed: str | None,
    max_length: int = 2048,
    *,
    max_age: int | None = None,
) -> str | None:
    """The value, or None when the cookie is missing, altered, forged, oversized, signed for
    another purpose, or (with `max_age`) signed more than `max_age` seconds ago."""
    if not signed or len(signed) > max_length or not signed.isascii():
        return None
    if not _mac_is_canonical(signed):
        return None
    try:
        value = _serializer(secret, purpose).loads(signed, max_age=max_age)
    except BadData:  # also SignatureExpired, and a payload that is not JSON
        return None
    return value if isinstance(value, str) else None


# A random nonce of 24 hex digits, a dot and a 27-character MAC: 52 characters, within the 64
# that the tables keep for a form's token.
_NONCE_LENGTH = 24


def form_token(secret: str, purpose: str, scope: str, nonce: str | None = None) -> str:
    """A one-use token for a public form: a random nonce and its MAC for this purpose and scope.

    Stored with what the form creates under a unique constraint, so that a double tap or a
    retried request creates one record; a token made up by the client is refused.
    """
    nonce = nonce or secrets.token_hex(_NONCE_LENGTH // 2)
    return Signer(secret, salt=f"{purpose}\0{scope}").sign(nonce).decode()


def form_token_is_genuine(secret: str, purpose: str, scope: str, token: str) -> bool:
    nonce, _, _mac = token.partition(".")
    return (
        token.isascii()
        and len(token) <= 64
        and len(nonce) == _NONCE_LENGTH
        and _mac_is_canonical(token)
        and Signer(secret, salt=f"{purpose}\0{scope}").validate(token)
    )

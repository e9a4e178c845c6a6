"""The instance's Ed25519 key, which signs published bulletin boards (cryptography)."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from voting.tally.board import fingerprint_of, key_id_of
from voting.verify import verify_signature


def private_key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_text(seed: bytes) -> str:
    """The public key as base64 of its 32 raw bytes (as in the board's signature line)."""
    return base64.b64encode(public_key_raw(seed)).decode()


def public_key_pem(public_key: str) -> str:
    """A public key given as base64 of its raw bytes, as PEM (for OpenSSL)."""
    return (
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(seed: bytes, digest: bytes) -> str:
    return base64.b64encode(private_key(seed).sign(digest)).decode()


def verify(public_key: str, signature: str, digest: bytes) -> bool:
    """The verifier's own check."""
    return verify_signature(public_key, signature, digest)


def public_key_raw(seed: bytes) -> bytes:
    return (
        private_key(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def key_id(seed: bytes) -> str:
    """The key id a board names: the first 16 hex characters of the key's fingerprint."""
    return key_id_of(public_key_raw(seed))


def fingerprint(public_key: str) -> str:
    """SHA-256 (hex) of the raw public key given as base64."""
    return fingerprint_of(base64.b64decode(public_key))

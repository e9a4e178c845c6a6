"""The standard-library Ed25519 the standalone verifier falls back on: RFC 8032's test vectors,
agreement with the `cryptography` package on many keys and messages, and every kind of tampering
refused (a flipped bit in the signature, the message or the key; a non-canonical S; wrong
lengths; a key that is not a point)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from voting.tally.ed25519 import L, verify

# RFC 8032, section 7.1: TEST 1 (empty message), TEST 2 (one byte) and TEST 3 (two bytes).
RFC_8032 = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        (
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ),
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        (
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        ),
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        (
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
            "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
        ),
    ),
]


@pytest.mark.parametrize(("key", "message", "signature"), RFC_8032)
def test_rfc_8032_vectors(key, message, signature):
    key, message, signature = bytes.fromhex(key), bytes.fromhex(message), bytes.fromhex(signature)
    assert verify(key, signature, message)
    assert not verify(key, signature, message + b"\0")


def test_agrees_with_cryptography_and_refuses_tampering():
    for _ in range(20):
        private = Ed25519PrivateKey.generate()
        key = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        message = os.urandom(32)
        signature = private.sign(message)
        assert verify(key, signature, message)
        for position in (0, 31, 32, 63):
            tampered = bytearray(signature)
            tampered[position] ^= 0x04
            assert not verify(key, bytes(tampered), message)
        assert not verify(key, signature, bytes([message[0] ^ 1]) + message[1:])
        other = (
            Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        assert not verify(other, signature, message)


def test_refuses_malformed_input():
    key, message, signature = (bytes.fromhex(part) for part in RFC_8032[1])
    # S + L is the same scalar modulo L, but not canonical: refused (signature malleability).
    s = int.from_bytes(signature[32:], "little") + L
    assert not verify(key, signature[:32] + s.to_bytes(32, "little"), message)
    assert not verify(key, signature[:63], message)
    assert not verify(key[:31], signature, message)
    # A y coordinate of 2^255 - 19 or more is not a canonical encoding.
    assert not verify(b"\xff" * 31 + b"\x7f", signature, message)
    assert not verify(key, b"\xff" * 32 + signature[32:], message)

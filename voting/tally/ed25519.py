"""Ed25519 signature verification (RFC 8032) in plain Python, so that the standalone verifier
checks a bulletin board's signature with nothing but the standard library.

Verification only – nothing secret is handled here, so constant time does not matter. The
`cryptography` package is used instead when it is installed (voting/verify.py); the tests check
that both give the same answer on RFC 8032's test vectors, on boards signed by Tori and on
tampered signatures, keys and messages.

The check is the cofactorless one most libraries make: decode the key A and the signature's R
and S (refusing non-canonical encodings and S ≥ L), then accept when [S]B − [k]A encodes to
exactly R, with k = SHA-512(R ‖ A ‖ message) mod L.
"""

from __future__ import annotations

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

# A point in extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x·y = T/Z.
Point = tuple[int, int, int, int]
NEUTRAL: Point = (0, 1, 1, 0)


def _add(p: Point, q: Point) -> Point:
    """The complete addition law of the twisted Edwards curve (also used for doubling)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _multiply(scalar: int, point: Point) -> Point:
    result = NEUTRAL
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x & 1 != sign:
        x = P - x
    return x


def _decode(encoded: bytes) -> Point | None:
    """A point from its 32-byte encoding, or None when it is not a canonical encoding of a
    point on the curve."""
    if len(encoded) != 32:
        return None
    number = int.from_bytes(encoded, "little")
    y, sign = number & ((1 << 255) - 1), number >> 255
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def _encode(point: Point) -> bytes:
    x, y, z, _t = point
    z_inverse = pow(z, P - 2, P)
    x, y = x * z_inverse % P, y * z_inverse % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_BASE_Y = 4 * pow(5, P - 2, P) % P
BASE: Point = (_recover_x(_BASE_Y, 0) or 0, _BASE_Y, 1, (_recover_x(_BASE_Y, 0) or 0) * _BASE_Y % P)


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether `signature` (64 bytes) is a valid Ed25519 signature of `message` by
    `public_key` (32 bytes)."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decode(public_key)
    r_bytes, s = signature[:32], int.from_bytes(signature[32:], "little")
    if a is None or s >= L or _decode(r_bytes) is None:
        return False
    k = int.from_bytes(hashlib.sha512(r_bytes + public_key + message).digest(), "little") % L
    minus_a = ((P - a[0]) % P, a[1], a[2], (P - a[3]) % P)
    return _encode(_add(_multiply(s, BASE), _multiply(k, minus_a))) == r_bytes

"""`tori-verify BOARD.jsonl` – check a published bulletin board, with nothing but Python.

Recomputes every entry's hash and the chain, checks the head, that each receipt given is in
the log and each checkpoint given still matches, recounts the tally under the published rules
with the same code Tori counts with (`voting/tally`), and checks the Ed25519 signature. It
needs only the standard library; for the signature it uses the `cryptography` package when it
is installed, and otherwise says so and shows how to check the signature with OpenSSL.

Exit status: 0 when the board is valid, 1 when it is not, 2 when it cannot be read.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path

from voting.tally.board import check_board

CHECKPOINT = re.compile(r"^(\d{1,12}):([0-9a-fA-F]{64})$")


def verify_with_cryptography(public_key: str, signature: str, digest: bytes) -> bool | None:
    try:
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PublicKey,
        )
    except ImportError:
        return None
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), digest)
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tori-verify", description="Check a Tori bulletin board (JSON Lines)."
    )
    parser.add_argument("board", help="the bulletin board file (.jsonl)")
    parser.add_argument(
        "--receipt",
        action="append",
        default=[],
        help="a receipt that must be in the log (repeatable)",
    )
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="COUNT:HEAD",
        help="a head recorded earlier, e.g. 1200:ab12… (repeatable)",
    )
    parser.add_argument(
        "--public-key", help="the instance's public key (base64) to expect; see /pb/signing-key"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    marks = []
    for text in arguments.checkpoint:
        match = CHECKPOINT.match(text.strip())
        if not match:
            print(
                f"tori-verify: a checkpoint is COUNT:HEAD (64 hex characters), not {text[:80]!r}",
                file=sys.stderr,
            )
            return 2
        marks.append((int(match.group(1)), match.group(2).lower()))
    path = Path(arguments.board)
    try:
        handle = path.open("rb")
    except OSError as error:
        print(f"tori-verify: {path}: cannot be read: {error.strerror}", file=sys.stderr)
        return 2

    def signature_check(public_key: str, signature: str, digest: bytes) -> bool | None:
        if arguments.public_key and public_key != arguments.public_key:
            return False
        return verify_with_cryptography(public_key, signature, digest)

    with handle:
        verdict = check_board(handle, arguments.receipt, marks, signature_check)
    for receipt, found in verdict.receipts.items():
        print(f"receipt {receipt}: {'in the log' if found else 'NOT in the log'}")
    if verdict.valid:
        print(
            f"VALID: {verdict.entries} entries, one unbroken chain, head {verdict.head}; the tally recounts exactly."
        )
        if verdict.signature == "valid":
            print("Signature: valid (Ed25519).")
        else:
            print(
                "Signature: not checked – the cryptography package is not installed. Check it with "
                "OpenSSL: the signature is over the SHA-256 digest of every line before the last."
            )
        return 0
    print("NOT VALID")
    for problem in verdict.problems:
        print(f"  {problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main())

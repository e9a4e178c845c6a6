"""`tori-verify BOARD.jsonl` – check a published bulletin board, with nothing but Python.

Checks every line of the board (docs/board-format.md): the round's definition; the roll's marks
per area; each entry's tracker, hash and chain, and that it keeps the round's rules (known
projects of the voter's district or city-wide, within the budget, the number of choices or the
points, whole positive points); that every area has exactly as many entries as roll marks; the
head; the tally under every rule, recounted with the same code Tori counts with
(`voting/tally`); and the Ed25519 signature, by the keys you trust (`--public-key`). Each
receipt given must be in the log and each checkpoint given must still match. It needs only the
standard library: the signature is checked by the `cryptography` package when it is installed,
otherwise by the standard-library Ed25519 in voting/tally/ed25519.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from pathlib import Path

from voting.tally import ed25519
from voting.tally.board import check_board, key_id_of, public_key_bytes

CHECKPOINT = re.compile(r"^(\d{1,12}):([0-9a-fA-F]{64})$")
# The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw key follows.
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
PEM = re.compile(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.DOTALL)

EXIT_CODES = """exit status:
  0  VALID, and signed by a key given with --public-key
  1  NOT VALID: the first problem found is named (line, entry, field)
  2  the board or a key file cannot be read, or an argument is malformed
  3  chain and count valid, signer not verified: no --public-key was given (the key written
     in the board checks out, and its fingerprint is printed to compare with the instance's
     /pb/signing-key)"""


def verify_signature(public_key: str, signature: str, digest: bytes) -> bool:
    """The Ed25519 check of a base64 key and signature over `digest`: by the `cryptography`
    package when it is installed, otherwise by the standard-library implementation in
    voting/tally/ed25519.py (the tests check that both agree)."""
    try:
        key = base64.b64decode(public_key, validate=True)
        signed = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    try:
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PublicKey,
        )
    except ImportError:
        return ed25519.verify(key, signed, digest)
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signed, digest)
    except (InvalidSignature, ValueError):
        return False
    return True


def _json_keys(text: str) -> list[bytes]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError("not valid JSON") from error
    items = document.get("keys", [document]) if isinstance(document, dict) else document
    keys = []
    for item in items if isinstance(items, list) else []:
        raw = public_key_bytes(item.get("public_key")) if isinstance(item, dict) else None
        if raw is None:
            raise ValueError("a key in the JSON has no public_key of 32 bytes in base64")
        if "key_id" in item and item["key_id"] != key_id_of(raw):
            raise ValueError(f"key {item['key_id']!r:.40}: the id does not match its key")
        keys.append(raw)
    return keys


def _pem_keys(text: str) -> list[bytes]:
    keys = []
    for block in PEM.findall(text):
        try:
            der = base64.b64decode("".join(block.split()), validate=True)
        except ValueError as error:
            raise ValueError("a PEM block is not base64") from error
        if len(der) != len(ED25519_SPKI) + 32 or not der.startswith(ED25519_SPKI):
            raise ValueError("a PEM block is not an Ed25519 public key")
        keys.append(der[len(ED25519_SPKI) :])
    return keys


def _line_keys(text: str) -> list[bytes]:
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        raw = public_key_bytes(line.split()[-1])
        if raw is None:
            raise ValueError(f"line {number} is not a base64 Ed25519 public key")
        keys.append(raw)
    return keys


def parse_public_keys(text: str) -> list[bytes]:
    """Every Ed25519 public key in a text: the /pb/signing-key.json document, PEM blocks, or
    one base64 key per line (anything before the key on its line, such as its id, is
    ignored; so are empty lines and lines starting with #). Raises ValueError."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        keys = _json_keys(stripped)
    elif PEM.search(stripped):
        keys = _pem_keys(stripped)
    else:
        keys = _line_keys(stripped)
    if not keys:
        raise ValueError("no public key in it")
    return keys


def public_keys(value: str) -> list[bytes]:
    """An argparse type: a base64 key, or a file of keys (see parse_public_keys)."""
    raw = public_key_bytes(value.strip())
    if raw is not None:
        return [raw]
    try:
        text = Path(value).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise argparse.ArgumentTypeError(
            f"{value[:80]!r} is neither a base64 public key nor a readable key file"
        ) from error
    try:
        return parse_public_keys(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value[:80]}: {error}") from error


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tori-verify",
        description="Check a Tori bulletin board (JSON Lines): every entry, the roll, the count"
        " and the signature (docs/board-format.md).",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("board", help="the bulletin board file (.jsonl)")
    parser.add_argument(
        "--receipt",
        action="append",
        default=[],
        help="a receipt (tracker) that must be in the log (repeatable)",
    )
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="COUNT:HEAD",
        help="a head recorded earlier, e.g. 1200:ab12… (repeatable)",
    )
    parser.add_argument(
        "--public-key",
        action="append",
        default=[],
        type=public_keys,
        metavar="KEY_OR_FILE",
        help="a public key you trust (base64), or a file of them: the JSON of /pb/signing-key.json,"
        " PEM, or one base64 key per line. The board's key id picks the key. Repeatable.",
    )
    return parser.parse_args(argv)


def signature_checker(trusted: dict[str, str]):
    """The check of the signature line: by the trusted key with the board's key id when keys
    were given, otherwise by the key written in the board (which proves nothing about who
    signed: "signer not verified")."""

    def check(key_id: str, public_key: str, signature: str, digest: bytes) -> str:
        if trusted:
            if key_id not in trusted:
                return (
                    f"signed by key {key_id}, which is not among the keys given with --public-key"
                    " (a board signed by someone else)"
                )
            outcome = verify_signature(trusted[key_id], signature, digest)
            return "valid" if outcome else "the signature does not match the board"
        outcome = verify_signature(public_key, signature, digest)
        return "signer not verified" if outcome else "the signature does not match the board"

    return check


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
    trusted = {
        key_id_of(raw): base64.b64encode(raw).decode()
        for keys in arguments.public_key
        for raw in keys
    }
    path = Path(arguments.board)
    try:
        with path.open("rb") as handle:
            verdict = check_board(handle, arguments.receipt, marks, signature_checker(trusted))
    except OSError as error:
        print(f"tori-verify: {path}: cannot be read: {error.strerror}", file=sys.stderr)
        return 2
    for receipt, found in verdict.receipts.items():
        print(f"receipt {receipt}: {'in the log' if found else 'NOT in the log'}")
    if not verdict.valid:
        print("NOT VALID")
        for problem in verdict.problems:
            print(f"  {problem}")
        return 1
    summary = (
        f"{verdict.entries} entries, one unbroken chain, head {verdict.head}; every entry keeps"
        " the round's rules and has its roll mark; the tally recounts exactly under every rule."
    )
    key = f"key {verdict.key_id}, fingerprint {verdict.fingerprint}"
    if verdict.signature == "valid":
        print(f"VALID: {summary}")
        print(f"Signature: valid (Ed25519, {key}).")
        return 0
    # Otherwise "signer not verified": the board's own key checks out, but it is not a key the
    # user said they trust.
    print(f"chain and count valid, signer not verified: {summary}")
    print(
        f"Signed by {key}. Compare the fingerprint with the instance's /pb/signing-key, or"
        " give the instance's keys with --public-key."
    )
    return 3


if __name__ == "__main__":
    sys.exit(main())

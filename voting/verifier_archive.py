"""The standalone verifier as one downloadable file: a Python zip application (PEP 441) holding
voting/verify.py and voting/tally/, run as `python3 tori-verify.pyz BOARD.jsonl`. It needs
Python 3.11 or newer and nothing else.

The archive is reproducible: the same source gives the same bytes (sorted names, fixed
timestamps and permissions), so an auditor can build it from Tori's source with
`python -m voting.verifier_archive > tori-verify.pyz` and compare its SHA-256 with the one the
instance shows on each round's "how to check" page.
"""

from __future__ import annotations

import functools
import hashlib
import io
import sys
import zipfile
from pathlib import Path

VOTING = Path(__file__).resolve().parent
_MAIN = b"from voting.verify import main\n\nraise SystemExit(main())\n"
_PACKAGE = b'"""Tori\'s standalone verifier (tori-verify), packed as one file."""\n'
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _members() -> list[tuple[str, bytes]]:
    members = [
        ("__main__.py", _MAIN),
        ("voting/__init__.py", _PACKAGE),
        ("voting/verify.py", (VOTING / "verify.py").read_bytes()),
    ]
    members += [
        (f"voting/tally/{path.name}", path.read_bytes())
        for path in sorted((VOTING / "tally").glob("*.py"))
    ]
    return members


@functools.cache
def verifier_archive() -> bytes:
    buffer = io.BytesIO()
    buffer.write(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in _members():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@functools.cache
def verifier_digest() -> str:
    return hashlib.sha256(verifier_archive()).hexdigest()


if __name__ == "__main__":
    sys.stdout.buffer.write(verifier_archive())

"""Where uploaded pictures are kept and how they are served.

Each picture is stored as a few WebP files (app/images.py) under `TORI_MEDIA_DIR`, named by a
random key and the width: `<32 hex digits>-<width>.webp`. The name someone uploaded is never
used, so a file named `../../etc/passwd` is only a picture with no name; and the route below
serves nothing whose name is not of that shape. A name is never reused for other content (a new
picture gets a new key), so the files are sent as immutable, cached for a year.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from litestar import Controller, get
from litestar.params import FromPath
from litestar.response import File

from app.dependencies import AppSettings
from app.errors import NotFoundError
from app.i18n import N_
from app.images import MEDIA_TYPE, SUFFIX
from app.off_loop import in_worker_thread

ONE_YEAR = 365 * 24 * 3600
CACHE_CONTROL = f"public, max-age={ONE_YEAR}, immutable"
_KEY = re.compile(r"[0-9a-f]{32}")
_NAME = re.compile(rf"(?P<key>[0-9a-f]{{32}})-(?P<width>[1-9][0-9]{{1,3}})\.{SUFFIX}")
NO_SUCH_PICTURE = N_("There is no such picture.")


def new_key() -> str:
    """A random key for a new picture's files (128 bits: not guessable, never reused)."""
    return secrets.token_hex(16)


def file_name(key: str, width: int) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("not a picture key")
    return f"{key}-{int(width)}.{SUFFIX}"


def media_url(key: str, width: int) -> str:
    return f"/media/{file_name(key, width)}"


class MediaStore:
    """The directory of picture files."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def write(self, key: str, variants: tuple[tuple[int, bytes], ...]) -> None:
        """Each width's file, written whole under a temporary name and then moved into place,
        so that a reader never sees half a file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for width, data in variants:
            final = self.directory / file_name(key, width)
            draft = self.directory / f".{final.name}.{secrets.token_hex(4)}"
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            draft.replace(final)

    def delete(self, key: str, widths: list[int]) -> None:
        for width in widths:
            (self.directory / file_name(key, width)).unlink(missing_ok=True)

    def path_of(self, name: str) -> Path | None:
        """The file a served name stands for, or None (a name of any other shape is refused
        before the file system is asked)."""
        if not _NAME.fullmatch(name):
            return None
        path = self.directory / name
        return path if path.is_file() else None

    def read(self, key: str, width: int) -> bytes:
        return (self.directory / file_name(key, width)).read_bytes()


class MediaController(Controller):
    """The picture files, for anyone: their names are random and never reused."""

    path = "/media"

    @get("/{name:str}", opt={"skip_compression": True})  # WebP is compressed already
    async def picture(self, settings: AppSettings, name: FromPath[str]) -> File:
        store = MediaStore(settings.media_dir)
        path = await in_worker_thread(store.path_of, name)
        if path is None:
            raise NotFoundError(NO_SUCH_PICTURE)
        return File(
            path=path,
            media_type=MEDIA_TYPE,
            content_disposition_type="inline",
            filename=name,
            headers={"Cache-Control": CACHE_CONTROL},
        )

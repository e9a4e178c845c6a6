"""A file upload read off the event loop: the body streamed to a temporary file with a size cap,
the multipart form parsed in a worker thread.

Litestar's `request.form()` (and its CSRF middleware, which reads the form to find the token)
parses a multipart body in Python on the event loop: a census file of 1.5 MB held every other
request of the worker for most of a second. A route that takes a file instead excludes itself
from the middleware (`app.security.FORM_TOKEN_CHECKED_BY_HANDLER`), reads the body with
`read_upload` and checks the form's token with `form_token_accepted` itself. Receiving the body
is the loop's work (it only moves chunks to a file, in memory up to `SPOOL_BYTES`); the parsing
is the worker thread's.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import parse_qs

from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from app.off_loop import in_worker_thread

SPOOL_BYTES = 1024 * 1024  # a body past this goes to a file on disk while it arrives
CHUNK = 256 * 1024
MAX_PARTS = 16  # the token, the file and a few more: no form that takes a file has more
MAX_FIELD_BYTES = 4096  # a text field (the token is 128 characters)


class UploadError(Exception):
    """The body is not a multipart form this route can read (the reason is for the log)."""


@dataclass(frozen=True)
class Upload:
    """A multipart form: its text fields (each name's values in order) and its files by field
    name, (file name, content)."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


async def read_upload(request: Request, limit: int) -> Upload:
    """The request's multipart form; the body is refused past `limit` bytes (413, as Litestar's
    own limit does) and parsed in a worker thread. Raises `UploadError` for a body that is not
    a multipart form."""
    content_type, options = request.content_type
    if content_type == "application/x-www-form-urlencoded":
        # A form sent without its file (a browser does this only when scripts rewrite the
        # form): its fields, small by the route's own body limit, so that the form's token is
        # read and the page can say that no file was chosen.
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise RequestEntityTooLarge
        return Upload(fields=parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
    boundary = options.get("boundary", "")
    if content_type != "multipart/form-data" or not boundary:
        raise UploadError("not a multipart form")
    announced = request.content_length
    if announced is not None and announced > limit:
        raise RequestEntityTooLarge
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed below
    try:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise RequestEntityTooLarge
            body.write(chunk)
        return await in_worker_thread(parse_multipart, body, boundary, limit)
    finally:
        body.close()


def parse_multipart(body: IO[bytes], boundary: str, limit: int) -> Upload:
    """The multipart form in `body` (read from its start). Pure work: call it in a worker
    thread."""
    body.seek(0)
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple[str, bytes]] = {}
    segment: MultipartSegment | None = None
    content = bytearray()
    try:
        with PushMultipartParser(
            boundary,
            max_segment_count=MAX_PARTS,
            max_segment_size=limit,
            strict=True,
        ) as parser:
            while not parser.closed:
                chunk = body.read(CHUNK)
                for part in parser.parse(chunk):
                    if isinstance(part, MultipartSegment):
                        segment, content = part, bytearray()
                    elif part:
                        text_field = segment is not None and not segment.filename
                        if text_field and len(content) + len(part) > MAX_FIELD_BYTES:
                            raise UploadError(f"the field {segment.name!r:.40} is too long")
                        content += part
                    elif segment is None:
                        raise UploadError("a part ended before its headers")
                    else:
                        # No file chosen: a browser sends the part with an empty file name.
                        if segment.filename:
                            files.setdefault(segment.name, (segment.filename, bytes(content)))
                        else:
                            text = content.decode(segment.charset or "utf-8", errors="replace")
                            fields.setdefault(segment.name, []).append(text)
                        segment = None
                if not chunk and not parser.closed:
                    raise UploadError("the body ends before the form does")
    except (ParserError, ParserLimitReached) as error:
        raise UploadError(f"not a readable multipart form ({error})") from error
    return Upload(fields, files)

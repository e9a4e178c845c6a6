"""The multipart form of a file upload, parsed off the event loop (app/uploads.py): what it
reads, and the malformed and oversized bodies it refuses."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from app.uploads import MAX_FIELD_BYTES, MAX_PARTS, UploadError, parse_multipart, read_upload

BOUNDARY = "testboundary42"


def part(name: str, content: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if filename is not None:
        head += "Content-Type: text/csv\r\n"
    return (head + "\r\n").encode() + content + b"\r\n"


def body(*parts: bytes) -> io.BytesIO:
    return io.BytesIO(b"".join(parts) + f"--{BOUNDARY}--\r\n".encode())


def test_fields_and_a_file_are_read_whole_across_chunks():
    census = b"identifier,birth_date,area\n" + b"AAAA1111,1980-01-01,Kallio\n" * 40_000
    upload = parse_multipart(
        body(part("_csrf_token", b"t" * 128), part("file", census, "census.csv")),
        BOUNDARY,
        10 * 1024 * 1024,
    )
    assert upload.fields == {"_csrf_token": ["t" * 128]}
    assert upload.files == {"file": ("census.csv", census)}


def test_a_file_part_with_no_file_chosen_is_no_file():
    upload = parse_multipart(body(part("file", b"", "")), BOUNDARY, 1024)
    assert upload.files == {}
    assert upload.fields == {"file": [""]}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a multipart body at all",
        part("file", b"no closing boundary", "census.csv"),
        b"--testboundary42\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--testboundary42--\r\n",
        b"--otherboundary\r\n\r\n",
    ],
)
def test_a_malformed_body_is_refused(data):
    with pytest.raises(UploadError):
        parse_multipart(io.BytesIO(data), BOUNDARY, 1024)


def test_too_many_parts_a_long_field_or_a_large_part_are_refused():
    with pytest.raises(UploadError):
        parse_multipart(body(*[part(f"f{n}", b"x") for n in range(MAX_PARTS + 1)]), BOUNDARY, 1024)
    with pytest.raises(UploadError, match="too long"):
        parse_multipart(body(part("_csrf_token", b"t" * (MAX_FIELD_BYTES + 1))), BOUNDARY, 10**6)
    with pytest.raises(UploadError):
        parse_multipart(body(part("file", b"x" * 2000, "census.csv")), BOUNDARY, 1000)


def streamed(data: bytes, content_length: int | None):
    """A request whose body arrives in chunks of 1000 bytes."""

    async def stream():
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]
        yield b""

    return SimpleNamespace(
        content_type=("multipart/form-data", {"boundary": BOUNDARY}),
        content_length=content_length,
        stream=stream,
    )


@pytest.mark.parametrize("announced", [True, False])
async def test_a_body_over_the_limit_is_refused_as_it_arrives(announced):
    data = body(part("file", b"x" * 10_000, "census.csv")).getvalue()
    with pytest.raises(RequestEntityTooLarge):
        await read_upload(streamed(data, len(data) if announced else None), 4096)
    upload = await read_upload(streamed(data, None), len(data))
    assert upload.files["file"] == ("census.csv", b"x" * 10_000)


async def test_a_form_without_its_file_gives_its_fields_and_no_file():
    """A form sent url-encoded (no file chosen, scripts rewriting it): its fields are read, so
    its token can be checked and the page can ask for a file."""
    request = streamed(b"_csrf_token=abc&a=1", None)
    request.content_type = ("application/x-www-form-urlencoded", {})
    upload = await read_upload(request, 4096)
    assert upload.fields == {"_csrf_token": ["abc"], "a": ["1"]}
    assert upload.files == {}


async def test_a_body_that_is_neither_multipart_nor_a_form_is_refused():
    request = streamed(b'{"a": 1}', None)
    request.content_type = ("application/json", {})
    with pytest.raises(UploadError):
        await read_upload(request, 4096)

"""Pictures for the tests, made here: honest photos, and the hostile files an upload must refuse."""

from __future__ import annotations

import functools
import io
import random
import secrets
import struct
import zlib

from PIL import Image, ImageDraw

from voting.models import Picture

OWNER = "Maija Virtanen"  # EXIF text is ASCII
SERIAL = "SN-4242-TORI"
# Espoo's Tapiola, in degrees, minutes and seconds.
LATITUDE = (60.0, 10.0, 30.12)
LONGITUDE = (24.0, 48.0, 45.21)


def photo(width: int = 1600, height: int = 1200, seed: int = 1) -> Image.Image:
    """Something like a photo: sky, ground, a few shapes and a little grain (a flat colour
    would make every page-weight figure meaninglessly small)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.4, 0.6))
    for y in range(height):
        if y < horizon:
            shade = (90 + y * 80 // horizon, 150 + y * 60 // horizon, 230)
        else:
            shade = (60 + (y - horizon) * 40 // height, 120, 50)
        draw.line([(0, y), (width, y)], fill=shade)
    for _ in range(400):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(width // 60, width // 8)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse([x, y, x + size, y + size // 2], fill=colour)
    grain = Image.effect_noise((width, height), 18).convert("RGB")
    return Image.blend(image, grain, 0.08)


def encoded(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(width: int = 1600, height: int = 1200, seed: int = 1) -> bytes:
    return encoded(photo(width, height, seed), "JPEG", quality=88)


def jpeg_with_personal_metadata() -> bytes:
    """A phone photo's EXIF: where it was taken (GPS), the camera's owner and serial number,
    the artist, the make and model, and a note in XMP."""
    exif = Image.Exif()
    exif[0x010F] = "ToriPhone"  # Make
    exif[0x0110] = "Model 9"  # Model
    exif[0x013B] = OWNER  # Artist
    exif[0x8298] = f"(c) {OWNER}"  # Copyright
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: LATITUDE, 3: "E", 4: LONGITUDE})
    camera = exif.get_ifd(0x8769)
    camera[0xA430] = OWNER  # CameraOwnerName
    camera[0xA431] = SERIAL  # BodySerialNumber
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{OWNER}</dc:creator></x:xmpmeta>'
    return encoded(photo(), "JPEG", quality=88, exif=exif, xmp=xmp.encode())


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels of greyscale, with a few bytes of
    data: a decompression bomb's shape (its pixels would take width x height bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024, 9))
        + chunk(b"IEND", b"")
    )


@functools.cache
def zip_bomb_png(width: int = 12_000, height: int = 12_000) -> bytes:
    """A real, complete PNG of black pixels: about 100 KB that would decode to 144 MB."""
    rows = (b"\x00" + b"\x00" * width) * 200
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(rows) for _ in range(height // 200)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def gif() -> bytes:
    return encoded(photo(200, 150), "GIF")


async def picture_row(db, proposal_id: int, alt: dict[str, str] | None = None):
    """A stored picture of a proposal, its row only (for pages that show it; no files)."""
    picture = Picture(
        owner_kind="proposal",
        owner_id=proposal_id,
        position=1,
        alt=alt or {"fi": "Puiston penkki", "sv": "En parkbänk", "en": "A park bench"},
        file_key=secrets.token_hex(16),
        widths=[160, 320, 640],
        width=640,
        height=480,
    )
    db.add(picture)
    await db.commit()
    return picture

"""Pictures that people upload, checked by their content and made safe to publish.

An upload is trusted for nothing: not its file name, not the type its browser declared. Pillow
reads the header to learn the format and the size in pixels; only JPEG, PNG and WebP are taken,
and an image of more pixels than `MAX_PIXELS` is refused before a single pixel is decoded (a
"decompression bomb" - a few kilobytes that would unpack to gigabytes). The image is then
decoded once and encoded anew as WebP in a few widths: nothing of the original file is kept,
so neither is its metadata (EXIF with the camera's owner and serial, GPS coordinates, XMP,
comments). Pure work with no web or database import: run `prepare_picture` in a worker thread.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# The formats taken, as Pillow names them after reading the content.
# A phone's JPEG often carries a second, smaller picture (the Multi-Picture Format): Pillow calls
# it "MPO", and it is a JPEG all the same (its first picture is taken).
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
# The widths stored (160 for a thumbnail on a phone, 240 for the same thumbnail on a screen of two
# or three device pixels per CSS pixel, 1280 for a wide screen); a picture narrower than one is
# not enlarged to it.
WIDTHS = (160, 240, 320, 640, 1280)
# A phone photo is 12 to 50 megapixels; more is refused before decoding.
MAX_PIXELS = 50_000_000
# Neither side may be absurdly thin or long (a 1 x 50,000,000 image is no picture); WebP cannot
# hold a side of more than 16,383 pixels, and a stored file is never longer than the upload.
MAX_SIDE = 16_383
MIN_SIDE = 16
WEBP_QUALITY = 72
# The encoder's effort (0-6): 2 takes a third of the time of 4 for a few per cent more bytes.
WEBP_METHOD = 2
MEDIA_TYPE = "image/webp"
SUFFIX = "webp"


class PictureError(Exception):
    """The upload is not a picture that can be published; `reason` is a key of REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PreparedPicture:
    """The picture encoded anew: (width, WebP bytes) from narrowest to widest, and the size of
    the widest."""

    variants: tuple[tuple[int, bytes], ...]
    width: int
    height: int


def _open_checked(data: bytes) -> Image.Image:
    """The image's header read and checked; no pixel decoded yet."""
    with warnings.catch_warnings():
        # Pillow's own bomb guard warns (or raises) past its limit: both mean refuse.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise PictureError("too_many_pixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise PictureError("not_a_picture") from None
    if image.format not in ACCEPTED_FORMATS:
        raise PictureError("not_a_picture")
    width, height = image.size
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise PictureError("too_many_pixels")
    if min(width, height) < MIN_SIDE:
        raise PictureError("too_small")
    return image


def prepare_picture(data: bytes) -> PreparedPicture:
    """Check `data` by its content and encode it anew in `WIDTHS` (raises PictureError)."""
    if not data:
        raise PictureError("empty")
    image = _open_checked(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(0)  # an animation: its first frame only
            if image.format in ("JPEG", "MPO"):
                # Decode a large photo at a fraction of its size (no smaller than the widest
                # file needs): much less work and memory than decoding it whole.
                image.draft("RGB", (WIDTHS[-1], WIDTHS[-1] * image.height // image.width))
            image.load()
            # A phone stores the camera's orientation in EXIF; turn the pixels instead, as the
            # EXIF goes.
            image = ImageOps.exif_transpose(image)
    except PictureError:
        raise
    except Exception:  # a truncated or corrupt file fails in many ways
        raise PictureError("not_a_picture") from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    image = image.convert("RGBA" if has_alpha else "RGB")
    widths = [w for w in WIDTHS if w < image.width] + [min(image.width, WIDTHS[-1])]
    variants = []
    for width in sorted(set(widths)):
        height = max(1, round(image.height * width / image.width))
        resized = (
            image
            if width == image.width
            else image.resize((width, height), Image.LANCZOS, reducing_gap=3.0)
        )
        out = io.BytesIO()
        # No EXIF, XMP or ICC profile is passed, so none is written.
        resized.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        variants.append((width, out.getvalue()))
    widest = variants[-1][0]
    return PreparedPicture(
        variants=tuple(variants),
        width=widest,
        height=max(1, round(image.height * widest / image.width)),
    )

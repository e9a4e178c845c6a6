"""QR codes as small, crisp SVG: print any size on a poster, scan from a phone."""

from __future__ import annotations

import io

import segno
from litestar import Response


def qr_svg(url: str, *, title: str | None = None, scale: int = 10) -> str:
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    # No XML declaration, so that the SVG can also be placed inside a page.
    code.save(
        buffer,
        kind="svg",
        scale=scale,
        border=2,
        xmldecl=False,
        svgns=True,
        title=title,
        nl=False,
        svgclass="qr",
        lineclass=None,
    )
    width, height = code.symbol_size(scale=scale, border=2)
    # segno writes a fixed width and height only: without a viewBox, a poster that draws the code
    # larger by CSS gets the drawing at its original size in the top left corner.
    return buffer.getvalue().decode().replace("<svg ", f'<svg viewBox="0 0 {width} {height}" ', 1)


def qr_image(url: str) -> Response:
    """The QR code of `url` as an SVG image for a page or a poster to show, cached for a day."""
    return Response(
        content=qr_svg(url),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )

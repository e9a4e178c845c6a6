"""CSV in two flavours, and cells that spreadsheet programs open safely (no cell is ever run as a
formula).

- **For machines**: comma-separated, UTF-8 without a byte-order mark, "." as the decimal point,
  the stable keys in the header – what scripts and open-data portals expect.
- **For spreadsheets**: what Excel and LibreOffice open in columns on a Finnish or Swedish
  computer: semicolon-separated, a byte-order mark so that UTF-8 is recognised, a decimal comma,
  and the header in the staff member's language.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value):
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def spreadsheet_cell(value):
    """A cell for the spreadsheet flavour: decimals with a comma, as Finnish and Swedish
    spreadsheets read them."""
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    return safe_cell(value)


def _writer(buffer: io.StringIO, for_spreadsheet: bool):
    return csv.writer(buffer, lineterminator="\r\n", delimiter=";" if for_spreadsheet else ",")


def csv_text(rows: Iterable[Sequence], *, for_spreadsheet: bool = False) -> str:
    buffer = io.StringIO()
    if for_spreadsheet:
        buffer.write(BOM)
    writer = _writer(buffer, for_spreadsheet)
    cell = spreadsheet_cell if for_spreadsheet else safe_cell
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return buffer.getvalue()


async def csv_chunks(
    rows: AsyncIterator[Sequence], *, for_spreadsheet: bool = False
) -> AsyncIterator[bytes]:
    """The same as `csv_text` for rows that arrive in batches, sent in chunks of about 64 KiB."""
    buffer = io.StringIO()
    if for_spreadsheet:
        buffer.write(BOM)
    writer = _writer(buffer, for_spreadsheet)
    cell = spreadsheet_cell if for_spreadsheet else safe_cell
    async for row in rows:
        writer.writerow([cell(value) for value in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()

"""Public pages of the open data: the list with its codebook, and each dataset as CSV or JSON."""

from __future__ import annotations

import asyncio
import hashlib
import re

from cachetools import TTLCache
from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from app.dependencies import AppSettings, DbSession
from app.errors import NotFoundError
from app.i18n import N_, gettext
from app.opendata.datasets import (
    COLUMN_TYPE_NAMES,
    LICENCE,
    LICENCE_URL,
    NAME_PATTERN,
    all_datasets,
    csv_text,
    dataset_named,
    json_document,
    json_text,
    local_now,
)
from app.page_cache import SHARED_PAGE

# A dataset is read at most once a minute per process, however many ask for it: the files are
# aggregates that change slowly, and a flood of downloads must not become a flood of queries.
CACHE_SECONDS = 60
# How long a browser or a proxy may reuse a file.
PUBLIC_MAX_AGE = 300
_FILES: TTLCache[tuple[str, str], tuple[bytes, str]] = TTLCache(maxsize=64, ttl=CACHE_SECONDS)
_FILE_NAME = re.compile(rf"({NAME_PATTERN})\.(csv|json)")
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}
# One maker per file: requests that arrive while it is being made wait for it, so the moment a
# file expires under a flood is still one read, not one per request.
_MAKING: dict[tuple[str, str], asyncio.Lock] = {}


def forget_cached_files() -> None:
    _FILES.clear()
    _MAKING.clear()


class OpenDataController(Controller):
    path = "/open-data"

    @get("/", name="open_data", opt=SHARED_PAGE)
    async def index(self, settings: AppSettings) -> Template:
        return Template(
            template_name="opendata/index.html",
            context={
                "datasets": all_datasets(),
                "licence": LICENCE,
                "licence_url": LICENCE_URL,
                "publisher": settings.contact_name,
                # Only the configured address: this page is shared, and a request's Host is
                # whatever the client wrote.
                "site_address": settings.site_url or "",
                # Translated here, not in the template: a description may hold a "%".
                "codebooks": {
                    dataset.name: [
                        (
                            column.name,
                            gettext(COLUMN_TYPE_NAMES[column.type]),
                            gettext(column.description),
                        )
                        for column in dataset.columns
                    ]
                    for dataset in all_datasets()
                },
            },
        )

    @get("/{filename:str}", opt={"exclude_from_csrf": True})
    async def download(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        filename: FromPath[str],
    ) -> Response:
        match = _FILE_NAME.fullmatch(filename)
        dataset = match and dataset_named(match.group(1))
        if not dataset:
            raise NotFoundError(N_("No such dataset."))
        fmt = match.group(2)
        cached = _FILES.get((dataset.name, fmt))
        if cached is None:
            async with _MAKING.setdefault((dataset.name, fmt), asyncio.Lock()):
                cached = _FILES.get((dataset.name, fmt))
                if cached is None:
                    cached = await _make_file(dataset, fmt, db_session, settings)
        body, etag = cached
        headers = {
            "Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}",
            "ETag": etag,
            # Open data: any site may read it (no cookies are involved in these responses).
            "Access-Control-Allow-Origin": "*",
            "Content-Disposition": f'inline; filename="tori-{dataset.name}.{fmt}"',
            "Link": f'<{LICENCE_URL}>; rel="license"',
        }
        if etag in (request.headers.get("if-none-match") or ""):
            return Response(content=b"", status_code=304, headers=headers)
        return Response(content=body, media_type=MEDIA_TYPES[fmt], headers=headers)


async def _make_file(dataset, fmt: str, db_session, settings) -> tuple[bytes, str]:
    rows = await dataset.rows(db_session, settings)
    if fmt == "csv":
        body = csv_text(dataset, rows).encode()
    else:
        document = json_document(
            dataset, rows, publisher=settings.contact_name, generated_at=local_now(settings)
        )
        body = json_text(document).encode()
    made = (body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    _FILES[dataset.name, fmt] = made
    return made

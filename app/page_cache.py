"""Shared public pages: what anonymous residents see, rendered once and served to the crowd.

A news link or a QR code on a poster sends hundreds of phones to the same few pages within
seconds. For a route marked `SHARED_PAGE`, an anonymous GET (no cookie of Tori's but the language
and the form token; not htmx) is answered from a small per-process cache of rendered pages,
keyed by the path, the query string and the reader's language:

- a page with nothing personal in it is sent `Cache-Control: public, max-age=30` with a weak
  `ETag` (and 304 to a matching `If-None-Match`), and `Vary` on what chooses the language, so
  that a proxy in front of Tori may keep it too;
- a page with a form carries per-request values (the browser's form token, the form's one-use
  token): they were rendered as stand-ins, which are replaced by fresh values for every request
  (`per_request`), and such a page stays `no-store`.

Signed-in staff, voters and residents (any other cookie of Tori's), htmx requests, a language
choice to be remembered, and anything but a 200 HTML page without cookies go through to the
controller as before and are never stored. An entry lives `TTL_SECONDS`.

One invalidation path: a commit that changed anything through the ORM bumps the shared page
version in the same transaction (`PageVersion`) and makes this process's entries stale at once;
every worker reads the shared version at most every `CHECK_SECONDS` while it serves shared pages
and drops its entries when the version moved, so another worker's change shows within that
time (the TTL is the net under it). `TORI_SHARED_PAGES=0` switches the cache off.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import secrets
import struct
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar._parsers import parse_cookie_string
from sqlalchemy import BigInteger, Integer, event, func, select, text, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from app.database import Base
from app.i18n import LANGUAGE_COOKIE, content_languages, negotiate_language
from app.state import DATABASE, SETTINGS

# Route options of a page that anonymous readers may share (the CSRF middleware would set its
# cookie on every GET; the page's forms get their token through `per_request` instead).
# The middleware compresses these pages itself: once for a stored page, not per request.
SHARED_PAGE = {"shared_page": True, "exclude_from_csrf": True, "skip_compression": True}
TTL_SECONDS = 5.0
MAX_ENTRIES = 512
PUBLIC_MAX_AGE = 30
# What selects the page's language and whether it is shared; the body may be compressed.
VARY = b"Accept-Language, Cookie, Accept-Encoding"
# Cookies that do not make a page personal: the language chosen and the form token's.
_NEUTRAL_COOKIES = frozenset({LANGUAGE_COOKIE, "tori_csrf"})
_OWN_COOKIE_PREFIX = "tori_"
_MIN_COMPRESSED = 512
_FILLING = "page_cache_filling"
# Request state: this response's Cache-Control and Vary were chosen here (app.security keeps them).
HEADERS_CHOSEN = "page_cache_headers_chosen"
_DROPPED_HEADERS = frozenset(
    {b"content-length", b"content-encoding", b"cache-control", b"vary", b"etag"}
)

PerRequest = Callable[[Request], str]


# --- Invalidation: a commit that changed anything makes every stored page stale --------------

_generation = 0


def generation() -> int:
    return _generation


def pages_changed() -> None:
    """Every page stored so far is stale (a change was committed)."""
    global _generation  # noqa: PLW0603 - one counter per process, read on every hit
    _generation += 1


_CHANGED = "page_cache_changed"


@event.listens_for(Session, "after_flush")
def _remember_flush(session: Session, _context: Any) -> None:
    session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _remember_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_CHANGED] = True


class PageVersion(Base):
    """The shared page version: the sum of `version` over the slots. A transaction that changed
    something bumps one slot it can lock at once (SKIP LOCKED): the new sum becomes visible
    exactly when the change does, and writers never wait for each other on it (a single row
    would make every writing transaction queue for its lock)."""

    __tablename__ = "page_version"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


CHECK_SECONDS = 0.2


def _bump_statement(dialect: str) -> Any:
    table = PageVersion.__table__
    if dialect != "postgresql":  # SQLite has one writer at a time, and no row locks
        return update(table).where(table.c.slot == 0).values(version=table.c.version + 1)
    free = (
        select(table.c.slot)
        .order_by(func.random())
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return update(table).where(table.c.slot == free).values(version=table.c.version + 1)


@event.listens_for(Session, "before_commit")
def _bump_shared_version(session: Session) -> None:
    # Flushed first, so that the bump is the transaction's last statement: a transaction that
    # holds a slot never waits for another lock (and with SKIP LOCKED nobody waits for a slot).
    session.flush()
    if not session.info.get(_CHANGED):
        return
    connection = session.connection()
    connection.execute(_bump_statement(connection.dialect.name))


@event.listens_for(Session, "after_commit")
def _changes_committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        pages_changed()


@event.listens_for(Session, "after_rollback")
def _changes_rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)


# --- Per-request values inside a shared page -------------------------------------------------


class _Filling:
    """Collects the per-request values a page rendered for the cache asked for."""

    def __init__(self) -> None:
        self.makers: dict[bytes, PerRequest] = {}

    def stand_in(self, make: PerRequest) -> str:
        # Letters and digits only: the same after HTML or URL escaping.
        mark = f"torisharedstandin{secrets.token_hex(12)}"
        self.makers[mark.encode()] = make
        return mark


def per_request(request: Request, make: PerRequest) -> str:
    """`make(request)`; in a page being rendered for the cache, a stand-in that every request
    served from it replaces with its own `make(request)` (a form token, a one-use token)."""
    filling = request.state.get(_FILLING)
    if filling is None:
        return make(request)
    return filling.stand_in(make)


# --- The cache ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPage:
    headers: tuple[tuple[bytes, bytes], ...]
    # The body split at its stand-ins: text, maker, text, maker, ..., text.
    parts: tuple[bytes, ...]
    makers: tuple[PerRequest, ...]
    etag: bytes
    compressed: bytes | None
    # A page with per-request values: each part compressed on its own (see `_GzipParts`).
    compressed_parts: tuple[bytes, ...] | None
    stored_at: float
    generation: int

    @property
    def personal(self) -> bool:
        return bool(self.makers)


def _split(body: bytes, makers: dict[bytes, PerRequest]) -> tuple[tuple[bytes, ...], tuple]:
    """The body split at every stand-in it holds, in order, with the maker of each."""
    found = sorted((position, mark) for mark in makers for position in _positions(body, mark))
    parts, order, start = [], [], 0
    for position, mark in found:
        parts.append(body[start:position])
        order.append(makers[mark])
        start = position + len(mark)
    parts.append(body[start:])
    return tuple(parts), tuple(order)


def _positions(body: bytes, mark: bytes) -> list[int]:
    positions, start = [], body.find(mark)
    while start != -1:
        positions.append(start)
        start = body.find(mark, start + len(mark))
    return positions


class PageCache:
    def __init__(self, *, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple, StoredPage] = OrderedDict()

    def get(self, key: tuple) -> StoredPage | None:
        page = self.entries.get(key)
        if page is None:
            return None
        if page.generation != _generation or time.monotonic() - page.stored_at > self.ttl:
            del self.entries[key]
            return None
        return page

    def put(self, key: tuple, page: StoredPage) -> None:
        self.entries[key] = page
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()


def _anonymous(headers: dict[bytes, bytes]) -> tuple[bool, str | None]:
    """Whether the request carries no cookie of Tori's but the neutral ones (read as the
    application reads them), and its language cookie."""
    cookies = parse_cookie_string(headers.get(b"cookie", b"").decode("latin-1"))
    for name in cookies:
        if name.startswith(_OWN_COOKIE_PREFIX) and name not in _NEUTRAL_COOKIES:
            return False, None
    return True, cookies.get(LANGUAGE_COOKIE)


def _query_language(query_string: bytes) -> str | None:
    for pair in query_string.split(b"&"):
        if pair.startswith(b"lang="):
            return pair[5:].decode("latin-1")
    return None


log = logging.getLogger("tori.page_cache")
_READ_VERSION = "SELECT coalesce(sum(version), 0) FROM page_version"


class SharedVersion:
    """This process's view of the shared page version: read at most every `CHECK_SECONDS` (one
    read for all the requests that arrive meanwhile); a moved version makes every page stale."""

    def __init__(self) -> None:
        self.known: int | None = None
        self.checked_at = -1e9
        self.reading: asyncio.Task | None = None

    async def check(self, database: Any) -> None:
        if time.monotonic() - self.checked_at < CHECK_SECONDS:
            return
        if self.reading is None or self.reading.done():
            self.reading = asyncio.get_running_loop().create_task(self._read(database))
        await asyncio.shield(self.reading)

    async def _read(self, database: Any) -> None:
        try:
            if database.is_postgresql:
                async with database.raw_connection() as connection:
                    version = await connection.fetchval(_READ_VERSION)
            else:
                async with database.engine.connect() as connection:
                    version = await connection.scalar(text(_READ_VERSION))
        except Exception:  # the database is away: the stored pages live out their TTL
            log.warning("could not read the shared page version", exc_info=True)
            self.checked_at = time.monotonic()
            return
        self.checked_at = time.monotonic()
        if self.known is not None and version != self.known:
            pages_changed()
        self.known = version


class SharedPagesMiddleware:
    """Serves the anonymous GETs of `SHARED_PAGE` routes from `PageCache` (see the module)."""

    def __init__(self, app: Any, cache: PageCache | None = None) -> None:
        self.app = app
        self.cache = cache or PageCache()
        self.version = SharedVersion()
        # Pages being rendered: a crowd arriving at an expired page waits for one rendering.
        self.rendering: dict[tuple, asyncio.Future] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not getattr(scope.get("route_handler"), "opt", {}).get(
            "shared_page"
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if scope["method"] != "GET" or not SETTINGS.of(scope["litestar_app"]).shared_pages:
            await self._pass(scope, receive, send, headers)
            return
        anonymous, language_cookie = _anonymous(headers)
        # Several Cookie headers: the dict above kept the last, the application may read another
        # (found by attack: a voter's cookie first, a language cookie last, and the "you have
        # voted" page was shared with everyone). Such a request is nobody to share with.
        if sum(1 for name, _ in scope["headers"] if name == b"cookie") > 1:
            anonymous = False
        explicit = _query_language(scope["query_string"])
        if (
            not anonymous
            or headers.get(b"hx-request")
            # A language chosen in the address and not yet remembered: the response sets a cookie.
            or (explicit in content_languages() and explicit != language_cookie)
        ):
            await self._pass(scope, receive, send, headers)
            return
        language = negotiate_language(
            explicit, language_cookie, headers.get(b"accept-language", b"").decode("latin-1")
        )
        # The host too: a page may write its own absolute address (app.requests.site_url).
        key = (scope["path"], scope["query_string"], language, headers.get(b"host", b""))
        await self.version.check(DATABASE.of(scope["litestar_app"]))
        page = self.cache.get(key)
        if page is None and key in self.rendering:
            page = await asyncio.shield(self.rendering[key])
        if page is None:
            # None from the one awaited: that page was not shareable; this request renders.
            future = self.rendering[key] = asyncio.get_running_loop().create_future()
            try:
                page = await self._render(scope, receive, send, headers, key)
            finally:
                if self.rendering.get(key) is future:
                    del self.rendering[key]
                future.set_result(page)
            if page is None:
                return
        await self._send(page, scope, headers, send)

    async def _run(self, scope: Any, receive: Any) -> tuple[dict, bytes]:
        """The controller's response: its start message (headers lower-cased) and whole body."""
        start: dict | None = None
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        if start is None:
            raise RuntimeError("the page was not rendered")
        start["headers"] = [(k.lower(), v) for k, v in start.get("headers", [])]
        return start, b"".join(chunks)

    async def _pass(self, scope: Any, receive: Any, send: Any, headers: dict) -> None:
        """The controller's response as it is, compressed when the browser takes it."""
        start, body = await self._run(scope, receive)
        await _send_body(start, body, _compressible(start, body, headers), send)

    async def _render(
        self, scope: Any, receive: Any, send: Any, headers: dict, key: tuple
    ) -> StoredPage | None:
        """The page rendered by its controller for everyone; None when it was not shareable (it
        was then sent as it came)."""
        started_generation = _generation
        filling = _Filling()
        state = scope.setdefault("state", {})
        state[_FILLING] = filling
        try:
            start, body = await self._run(scope, receive)
        finally:
            del state[_FILLING]
        response_headers = start["headers"]
        shareable = (
            start["status"] == 200
            and any(
                k == b"content-type" and v.startswith(b"text/html") for k, v in response_headers
            )
            and not any(k == b"set-cookie" for k, _ in response_headers)
            # Nobody signed in: the cookies said so, and so did the staff session.
            and scope.get("user") is None
        )
        if not shareable:
            # Sent as rendered, each stand-in replaced: a stand-in never reaches a browser.
            if filling.makers:
                request = Request(scope)
                for mark, make in filling.makers.items():
                    body = body.replace(mark, make(request).encode())
                start["headers"] = [
                    (k, v) for k, v in response_headers if k != b"cache-control"
                ] + [(b"cache-control", b"no-store")]
                await _form_token_cookie(start, scope)
            await _send_body(start, body, _compressible(start, body, headers), send)
            return None
        parts, makers = _split(body, filling.makers)
        digest = hashlib.blake2b(body + key[2].encode(), digest_size=12).hexdigest()
        page = StoredPage(
            headers=tuple((k, v) for k, v in response_headers if k not in _DROPPED_HEADERS),
            parts=parts,
            makers=makers,
            etag=f'W/"{digest}"'.encode(),
            compressed=gzip.compress(body, 6)
            if not makers and len(body) >= _MIN_COMPRESSED
            else None,
            compressed_parts=tuple(map(_deflated, parts)) if makers else None,
            stored_at=time.monotonic(),
            generation=started_generation,
        )
        self.cache.put(key, page)
        return page

    async def _send(self, page: StoredPage, scope: Any, headers: dict, send: Any) -> None:
        scope.setdefault("state", {})[HEADERS_CHOSEN] = True
        response_headers = [*page.headers, (b"vary", VARY)]
        start = {"type": "http.response.start", "status": 200, "headers": response_headers}
        if page.personal:
            request = Request(scope)
            values = [make(request).encode() for make in page.makers]
            response_headers.append((b"cache-control", b"no-store"))
            await _form_token_cookie(start, scope)
            if _accepts_gzip(headers):
                body = _gzip_with_values(page, values)
                response_headers.append((b"content-encoding", b"gzip"))
            else:
                pieces = [page.parts[0]]
                for value, part in zip(values, page.parts[1:], strict=True):
                    pieces += [value, part]
                body = b"".join(pieces)
            response_headers.append((b"content-length", str(len(body)).encode()))
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        response_headers.append((b"cache-control", f"public, max-age={PUBLIC_MAX_AGE}".encode()))
        response_headers.append((b"etag", page.etag))
        if _matches(headers.get(b"if-none-match", b""), page.etag):
            kept = [(k, v) for k, v in response_headers if k != b"content-type"]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        body = page.parts[0]
        if page.compressed is not None and _accepts_gzip(headers):
            response_headers.append((b"content-encoding", b"gzip"))
            body = page.compressed
        response_headers.append((b"content-length", str(len(body)).encode()))
        await send(start)
        await send({"type": "http.response.body", "body": body})


# A page with per-request values is compressed once too: each stored part on its own, as raw
# deflate ending in a sync flush (whole blocks, byte-aligned, none marked last), so that a
# request only compresses its few values and joins the pieces: a valid deflate stream (no
# back-reference crosses a piece), closed by an empty final block, in a gzip frame whose CRC
# and length are of the whole body.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_LAST_EMPTY_BLOCK = b"\x03\x00"


def _deflated(piece: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _gzip_with_values(page: StoredPage, values: list[bytes]) -> bytes:
    pieces, crc, size = [_GZIP_HEADER, page.compressed_parts[0]], 0, 0
    crc = zlib.crc32(page.parts[0])
    size = len(page.parts[0])
    for value, part, packed in zip(values, page.parts[1:], page.compressed_parts[1:], strict=True):
        pieces += [_deflated(value), packed]
        crc = zlib.crc32(part, zlib.crc32(value, crc))
        size += len(value) + len(part)
    pieces += [_LAST_EMPTY_BLOCK, struct.pack("<II", crc, size & 0xFFFFFFFF)]
    return b"".join(pieces)


async def _send_body(start: dict, body: bytes, compress: bool, send: Any) -> None:
    """A whole response, gzip-compressed when `compress` and worth it."""
    headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
    if compress and len(body) >= _MIN_COMPRESSED:
        body = gzip.compress(body, 6)
        headers.append((b"content-encoding", b"gzip"))
        if not any(k == b"vary" for k, _ in headers):
            headers.append((b"vary", b"Accept-Encoding"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _compressible(start: dict, body: bytes, headers: dict) -> bool:
    return _accepts_gzip(headers) and not any(k == b"content-encoding" for k, _ in start["headers"])


async def _form_token_cookie(start: dict, scope: Any) -> None:
    """A form token made for this request brings its cookie (app.security)."""
    from app.security import form_token_cookie  # noqa: PLC0415 - app.security imports this

    await form_token_cookie(start, scope)


def _accepts_gzip(headers: dict) -> bool:
    return b"gzip" in headers.get(b"accept-encoding", b"")


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    """Whether an If-None-Match header names this ETag (weak comparison, as for a GET)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == b"*":
        return True
    wanted = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == wanted for tag in if_none_match.split(b","))

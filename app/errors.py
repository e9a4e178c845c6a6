"""Domain errors and the one place that turns any failure into a page in the reader's language.

A person never sees a JSON body or a stack trace: every status gets the same
HTML error page, and unexpected exceptions are logged with their traceback on
the server only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from asyncpg import exceptions as pg
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.i18n import N_, gettext
from app.requests import is_htmx

if TYPE_CHECKING:
    from app.templating import Renderer

log = logging.getLogger("tori.errors")

# The database could not be reached or went away: through SQLAlchemy, or on the plain asyncpg
# connections of the busiest paths (see Database.raw_connection); every connection of the pool
# stayed taken past its timeout; or Redis (counters, live results) could not be reached.
DATABASE_UNAVAILABLE = (
    OSError,
    PoolTimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    OperationalError,
    InterfaceError,
    pg.InterfaceError,
    pg.PostgresConnectionError,
    pg.CannotConnectNowError,
    pg.OperatorInterventionError,
)
CSRF_FAILURE_DETAIL = "CSRF token verification failed"


def database_unavailable(exc: BaseException) -> bool:
    """Whether a failure means the database could not be reached or went away mid-request.

    SQLAlchemy raises a plain DBAPIError (not OperationalError) when a connection is closed in
    the middle of a statement, as when PostgreSQL restarts under load (found by the fault
    drill), so the causes are followed too.
    """
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, DATABASE_UNAVAILABLE):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        current, seen = current.__cause__, seen + 1
    return False


class DomainError(Exception):
    """A business rule said no. The message is a msgid, translated where it is shown."""

    status_code = HTTP_400_BAD_REQUEST

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def translated(self) -> str:
        return gettext(self.message) % self.params if self.params else gettext(self.message)

    def form_errors(self) -> dict[str, str]:
        """The refusal as a form shows it: field name -> message in the reader's language
        (`form`: the form as a whole)."""
        return {"form": self.translated()}


class NotFoundError(DomainError):
    status_code = 404


class ForbiddenError(DomainError):
    """Not allowed, for a reason the person can act on (shown in their language)."""

    status_code = 403


class ServiceBusyError(Exception):
    """This worker has as much expensive work (password hashes) as it takes: try again soon."""

    def __init__(self, retry_after: int = 5) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


class LoginRequiredError(NotAuthorizedException):
    """Raised by guards: a GET is sent to the login page, anything else gets a 401 page."""


class PasswordChangeRequiredError(PermissionDeniedException):
    """A one-time password was used: the person chooses their own before anything else."""


# Titles and explanations by status; a status not listed falls back to its class (4xx or 5xx).
ERROR_TEXTS: dict[int, tuple[str, str]] = {
    400: (
        N_("The request could not be handled"),
        N_("Something in what was sent was not valid. Go back, check the form and try again."),
    ),
    401: (N_("Please sign in"), N_("This page is for signed-in staff.")),
    403: (N_("Access denied"), N_("You do not have permission to do this.")),
    404: (
        N_("Page not found"),
        N_(
            "The page may have moved or been removed. Check the address, or start from the front page."
        ),
    ),
    405: (N_("Not allowed"), N_("This address does not accept that kind of request.")),
    413: (
        N_("Too much data"),
        N_("What was sent is larger than Tori accepts. Shorten the text or send a smaller file."),
    ),
    429: (N_("Too many attempts"), N_("Please wait a moment and try again.")),
    500: (
        N_("Something went wrong"),
        N_("The error was recorded and we will look into it. Please try again in a moment."),
    ),
    503: (
        N_("Service temporarily unavailable"),
        N_("Tori is being serviced or is very busy. Please try again in a moment."),
    ),
}
CSRF_TEXTS = (
    N_("The form has expired"),
    N_(
        "For your security the form could not be accepted. Reload the page and send the form again."
    ),
)


def error_response(
    request: Request,
    renderer: Renderer,
    status_code: int,
    *,
    detail: str | None = None,
    texts: tuple[str, str] | None = None,
) -> Response:
    renderer.choose_language(request)
    if texts is None:
        texts = ERROR_TEXTS.get(status_code) or ERROR_TEXTS[500 if status_code >= 500 else 400]
    title, message = (gettext(text) for text in texts)
    html = renderer.render(
        request,
        "error.html",
        {"status_code": status_code, "title": title, "message": message, "detail": detail},
    )
    headers = {}
    if status_code == 429:
        headers["Retry-After"] = "60"
    if is_htmx(request):
        # An error page is a whole page: htmx shows it instead of the page, never inside a part.
        headers["HX-Retarget"] = "body"
        headers["HX-Reswap"] = "innerHTML"
    return Response(
        content=html, status_code=status_code, media_type=MediaType.HTML, headers=headers
    )


def exception_handlers(renderer: Renderer) -> dict:
    def handle_http_exception(request: Request, exc: HTTPException) -> Response:
        if isinstance(exc, LoginRequiredError) and request.method == "GET":
            return Redirect(
                path="/staff/login", query_params={"next": request.url.path}, status_code=303
            )
        if isinstance(exc, PasswordChangeRequiredError) and request.method == "GET":
            return Redirect(path="/staff/password", status_code=303)
        if isinstance(exc, PermissionDeniedException) and exc.detail == CSRF_FAILURE_DETAIL:
            return error_response(request, renderer, HTTP_403_FORBIDDEN, texts=CSRF_TEXTS)
        return error_response(request, renderer, exc.status_code)

    def handle_domain_error(request: Request, exc: DomainError) -> Response:
        return error_response(request, renderer, exc.status_code, detail=exc.translated())

    def handle_database_unavailable(request: Request, exc: Exception) -> Response:
        log.error(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        response = error_response(request, renderer, HTTP_503_SERVICE_UNAVAILABLE)
        response.headers["Retry-After"] = "10"
        return response

    def handle_busy(request: Request, exc: ServiceBusyError) -> Response:
        log.warning("too busy on %s %s", request.method, request.url.path)
        response = error_response(request, renderer, HTTP_503_SERVICE_UNAVAILABLE)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    def handle_unexpected(request: Request, exc: Exception) -> Response:
        if database_unavailable(exc):
            return handle_database_unavailable(request, exc)
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(request, renderer, HTTP_500_INTERNAL_SERVER_ERROR)

    return {
        HTTPException: handle_http_exception,
        DomainError: handle_domain_error,
        ServiceBusyError: handle_busy,
        Exception: handle_unexpected,
    }

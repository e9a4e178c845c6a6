"""Who may use which staff route. Every staff controller carries `signed_in_staff`."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from app.accounts.models import Role, User
from app.errors import LoginRequiredError, PasswordChangeRequiredError

EDITORS = frozenset({Role.ADMIN, Role.STAFF})
ADMINS = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.STAFF, Role.AUDITOR})


def current_user(connection: ASGIConnection) -> User | None:
    return connection.scope.get("user")


async def signed_in_staff(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Signed in, with their own password, and holding one of the roles the handler allows."""
    user = current_user(connection)
    if user is None:
        raise LoginRequiredError
    if user.must_change_password and not handler.opt.get("allow_one_time_password"):
        raise PasswordChangeRequiredError
    allowed = handler.opt.get("roles", READERS)
    if user.role_enum not in allowed:
        raise PermissionDeniedException

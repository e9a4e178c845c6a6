from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.accounts.services import MAX_SESSION_TOKEN_LENGTH, user_for_token
from app.state import DATABASE

SESSION_COOKIE = "tori_session"


class StaffSessionMiddleware(AbstractAuthenticationMiddleware):
    """Puts the signed-in staff user (or None) in the scope; only a cookie costs a query."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(SESSION_COOKIE)
        if not token or len(token) > MAX_SESSION_TOKEN_LENGTH:
            return AuthenticationResult(user=None, auth=None)
        async with DATABASE.of(connection).sessionmaker() as session:
            user = await user_for_token(session, token)
        return AuthenticationResult(user=user, auth=token if user else None)

"""Names of what the application injects into handlers (see `create_app`)."""

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.services import SignInGuard
from app.settings import Settings

DbSession = NamedDependency[AsyncSession]
AppSettings = NamedDependency[Settings]
SignInGuardDependency = NamedDependency[SignInGuard]

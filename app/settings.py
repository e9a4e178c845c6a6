"""Settings read once from environment variables.

Development defaults let `tori serve` run on a fresh machine; production mode
(`TORI_ENV=production`) refuses to start with any of them left insecure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app import PROJECT_ROOT

DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'tori.sqlite3'}"
MIN_SECRET_LENGTH = 32


class InsecureSettingsError(RuntimeError):
    """Production mode was asked for with settings that are not safe for it."""


def _flag(value: str | None, *, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Accept the usual `postgres://` and `postgresql://` forms and pick the async driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    secret_key: str = DEVELOPMENT_SECRET
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    https: bool = False
    debug: bool = False
    timezone: str = "Europe/Helsinki"
    log_level: str = "INFO"
    database_pool_size: int = 10
    contact_email: str = "osallisuus@example.fi"
    # Questionnaire answers accepted from one network address per 10 minutes (a full hall fits).
    answers_per_address: int = 300
    # Poll votes accepted from one network address per 10 minutes: a crowd at a pop-up stand or
    # behind a library's network votes freely, a script is slowed down.
    votes_per_address: int = 600
    static_dir: Path = field(default=PROJECT_ROOT / "static")
    locale_dir: Path = field(default=PROJECT_ROOT / "locale")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            environment=env.get("TORI_ENV", "development").strip().lower() or "development",
            secret_key=env.get("SECRET_KEY") or DEVELOPMENT_SECRET,
            database_url=normalise_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            redis_url=env.get("REDIS_URL") or None,
            https=_flag(env.get("TORI_HTTPS")),
            debug=_flag(env.get("TORI_DEBUG")),
            timezone=env.get("TORI_TIMEZONE", "Europe/Helsinki"),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            database_pool_size=int(env.get("DATABASE_POOL_SIZE", "10")),
            contact_email=env.get("TORI_CONTACT_EMAIL", "osallisuus@example.fi"),
            answers_per_address=int(env.get("TORI_ANSWERS_PER_ADDRESS", "300")),
            votes_per_address=int(env.get("TORI_VOTES_PER_ADDRESS", "600")),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings that would be unsafe in production, with a message saying what to fix."""
        if self.environment not in {"development", "production", "test"}:
            raise InsecureSettingsError(
                f"TORI_ENV must be development, test or production, not {self.environment!r}."
            )
        if not self.is_production:
            return
        problems = []
        if self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < MIN_SECRET_LENGTH:
            problems.append(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
                'characters (for example: python3 -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if self.debug:
            problems.append("TORI_DEBUG must be off")
        if not self.https:
            problems.append("TORI_HTTPS must be on (Tori is served over HTTPS in production)")
        if self.uses_sqlite:
            problems.append("DATABASE_URL must point to PostgreSQL, not the embedded SQLite file")
        if problems:
            raise InsecureSettingsError(
                "Refusing to start in production mode: " + "; ".join(problems) + "."
            )

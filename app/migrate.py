"""Bringing a database to the newest schema, from the command line, the app or the tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection

from app import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "app" / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


async def upgrade_to_head(connection: AsyncConnection) -> None:
    def upgrade(sync_connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        command.upgrade(config, "head")

    await connection.run_sync(upgrade)

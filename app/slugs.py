"""Short public link ids (questionnaires, polls, budgeting rounds): easy to type from a poster."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

# No characters that are easy to mistake for another (0/O, 1/l/I).
SLUG_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
SLUG_LENGTH = 6


async def new_slug(session: AsyncSession, model: Any) -> str:
    """A short public link id not yet used by `model` (any table with a `slug` column)."""
    while True:
        slug = "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_LENGTH))
        if await session.scalar(select(model.id).where(model.slug == slug)) is None:
            return slug

"""Staff make and list kiosks in one way, for a poll (surveys/polls/staff.py) and for
everything of an event (surveys/kit.py): the same form (polls/_kiosks.html), read by
`read_kiosk`, and the new kiosk's link shown once on the page that made it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.services import list_areas
from app.events.models import Event
from app.forms import Form, read_form
from app.qr import qr_svg
from app.requests import site_url
from surveys.polls import services
from surveys.polls.forms import read_kiosk
from surveys.polls.models import Poll


async def kiosks_context(
    db_session: AsyncSession,
    kiosks: list,
    kiosk_link: str | None = None,
    kiosk_form: Form | None = None,
) -> dict[str, Any]:
    """What polls/_kiosks.html needs: the kiosks, the areas, the form, and a new kiosk's link
    with its QR code (only on the page that made it)."""
    return {
        "kiosks": kiosks,
        "areas": {area.id: area for area in await list_areas(db_session)},
        "kiosk_link": kiosk_link,
        "kiosk_qr": qr_svg(kiosk_link, title=None) if kiosk_link else None,
        "kiosk_form": kiosk_form or Form(),
    }


async def make_kiosk(
    request: Request,
    db_session: AsyncSession,
    owner: Poll | Event,
    page: Callable[..., Awaitable[Template]],
) -> Template:
    """Make a kiosk of `owner` from the posted form; `page(kiosk_link=…)` shows its link once,
    `page(kiosk_form=…, status=400)` the form's errors."""
    form = Form(await read_form(request))
    read = read_kiosk(form, [str(area.id) for area in await list_areas(db_session)])
    if read is None:
        return await page(kiosk_form=form, status=400)
    _kiosk, token = await services.create_kiosk(db_session, owner, *read)
    # Shown once, on this page only: the token opens the kiosk until it is revoked.
    return await page(kiosk_link=site_url(request, f"/kiosk?t={token}"))

"""One way to handle a staff form that changes something: load what the form acts on, read
the form, call one service, then redirect (the change is done) or show the page again with
the form's errors (status 400). The controller names the five steps; the rules, the
transaction and the audit record stay in the service it calls."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request, Response
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError
from app.forms import Form, read_form

T = TypeVar("T")
R = TypeVar("R")


async def _resolved(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def handle_post(
    request: Request,
    db_session: AsyncSession,
    *,
    load: Callable[[], Awaitable[T]],
    read: Callable[[Form, T], R | Awaitable[R | None] | None],
    act: Callable[[T, R], Awaitable[Any]],
    done: Callable[[R, Any], Response],
    again: Callable[[T, Form], Template | Awaitable[Template]],
    passes: tuple[type[DomainError], ...] = (),
    refusal_status: bool = False,
) -> Response | Template:
    """`load()` what the form acts on (it raises NotFoundError for a missing one); `read(form,
    target)` the fields (None with the form's errors when they are wrong); `act(target,
    value)`, the one service call; `done(value, result)`, the redirect after it. A refusal of
    the service (DomainError) rolls the change back and becomes the form's error; then the
    target is read again as committed and `again(target, form)` shows its page. The refusals
    named in `passes` are not the form's: they go on to the error page (e.g. a 404). With
    `refusal_status` the page again answers with the refusal's status (e.g. 429), not 400."""
    target = await load()
    form = Form(await read_form(request))
    refused: DomainError | None = None
    value = await _resolved(read(form, target))
    if value is not None:
        try:
            result = await act(target, value)
        except passes:
            raise
        except DomainError as error:
            await db_session.rollback()
            form.add_errors(error.form_errors())
            refused = error
        else:
            return done(value, result)
    # Nothing stored: what the page shows is read again (a rolled-back object can't be read).
    db_session.expunge_all()
    page = await _resolved(again(await load(), form))
    if refusal_status and refused is not None:
        page.status_code = refused.status_code
    return page

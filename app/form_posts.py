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
) -> Response | Template:
    """`load()` what the form acts on (it raises NotFoundError for a missing one); `read(form,
    target)` the fields (None with the form's errors when they are wrong); `act(target,
    value)`, the one service call; `done(value, result)`, the redirect after it. A refusal of
    the service (DomainError) rolls the change back and becomes the form's error; then the
    target is read again as committed and `again(target, form)` shows its page."""
    target = await load()
    form = Form(await read_form(request))
    value = await _resolved(read(form, target))
    if value is not None:
        try:
            result = await act(target, value)
        except DomainError as error:
            await db_session.rollback()
            form.add_errors(error.form_errors())
        else:
            return done(value, result)
    # Nothing stored: what the page shows is read again (a rolled-back object can't be read).
    db_session.expunge_all()
    return await _resolved(again(await load(), form))

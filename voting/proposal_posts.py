"""The staff forms about one proposal of a round (review, moderation, assignment, notes, its
place and themes, its milestones) in one shape: app/form_posts.py's `handle_post`, with the
round and the proposal as what the form acts on, and the proposal's staff page to go back to
when the change is done."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.form_posts import handle_post
from app.forms import Form
from voting import rounds
from voting.rounds import RoundProposal


def proposal_path(round_id: int, proposal_id: int) -> str:
    return f"/staff/pb/{round_id}/proposals/{proposal_id}"


def back_to_proposal(round_id: int, proposal_id: int, done: str) -> Redirect:
    """The proposal's staff page, saying what was done (`?done=`)."""
    return Redirect(
        path=proposal_path(round_id, proposal_id), query_params={"done": done}, status_code=303
    )


async def proposal_post(
    request: Request,
    db_session: AsyncSession,
    *,
    read: Callable[[Form, RoundProposal], Any],
    act: Callable[[RoundProposal, Any], Awaitable[Any]],
    done: str | Callable[[Any], str],
    again: Callable[[RoundProposal, Form], Awaitable[Template]],
) -> Template | Redirect:
    """The round and the proposal are the request's (`round_id`, `proposal_id` in its path);
    `done` names what was done, or reads it from the form's value."""
    round_id, proposal_id = request.path_params["round_id"], request.path_params["proposal_id"]
    return await handle_post(
        request,
        db_session,
        load=lambda: rounds.round_and_proposal(db_session, round_id, proposal_id),
        read=read,
        act=act,
        done=lambda value, _result: back_to_proposal(
            round_id, proposal_id, done if isinstance(done, str) else done(value)
        ),
        again=again,
    )

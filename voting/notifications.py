"""Notices to an idea's author, by e-mail in the author's language, through the outbox in the
transaction of the event that causes them: the idea received; accepted, rejected, merged or hidden
(with the public reason); on the ballot when voting opens; selected when the results are
published; news of its implementation.

Only a resident with a confirmed address who has not turned the kind off is mailed; an idea
entered by staff, or whose author has no address, gets no notice. Every notice carries a link
that turns its kind (or every kind) off without signing in: a signed token (itsdangerous, its own
purpose, so no other signed value is one and it is no other signed value), shown on a page that
asks for one POST, since link scanners open links; the `List-Unsubscribe` header's one-click
POST (RFC 8058) turns it off without the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n import N_
from app.mail import enqueue
from app.mail.models import PENDING, OutboxMessage
from app.requests import site_url
from app.settings import Settings
from app.signing import sign, unsign
from app.state import SETTINGS
from voting.models import Proposal, Resident, Round


class Kind(StrEnum):
    """What a notice is about; each can be turned off on its own."""

    RECEIVED = "received"
    REVIEW = "review"
    BALLOT = "ballot"
    RESULTS = "results"
    IMPLEMENTATION = "implementation"


ALL = "all"
KIND_LABELS = {
    Kind.RECEIVED: N_("When my idea has been received"),
    Kind.REVIEW: N_("When my idea is accepted, rejected, merged or hidden, with the reason"),
    Kind.BALLOT: N_("When voting opens with my idea on the ballot"),
    Kind.RESULTS: N_("When my idea is selected in the results"),
    Kind.IMPLEMENTATION: N_("News of carrying out my idea"),
}
# One message template per kind (mail/<name>.txt and .html in voting/templates).
TEMPLATES = {
    Kind.RECEIVED: "idea_received",
    Kind.REVIEW: "idea_review",
    Kind.BALLOT: "idea_ballot",
    Kind.RESULTS: "idea_selected",
    Kind.IMPLEMENTATION: "idea_implementation",
}
UNSUBSCRIBE_PURPOSE = "unsubscribe"
UNSUBSCRIBE_PATH = "/account/unsubscribe"
# Links in notices written with no request to take the address from (voting opening), in
# development without TORI_SITE_URL (production requires it).
DEVELOPMENT_SITE = "http://localhost:8000"


@dataclass(frozen=True)
class Notifier:
    """What writing a notice needs besides the database: the key that signs unsubscribe links
    and the site's public address (scheme and host) for the links."""

    secret: str
    site: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Notifier:
        return cls(settings.secret_key, (settings.site_url or DEVELOPMENT_SITE).rstrip("/"))

    @classmethod
    def of(cls, request: Request) -> Notifier:
        """For a request: TORI_SITE_URL, or in development the address the request reached."""
        return cls(SETTINGS.of(request).secret_key, site_url(request, ""))


# Unsubscribing --------------------------------------------------------------------------------


def unsubscribe_token(secret: str, resident_id: int, scope: str) -> str:
    """A link's token: the resident and the kind (or "all") it turns off. It does not expire:
    a link in an old message still works."""
    return sign(secret, UNSUBSCRIBE_PURPOSE, f"{resident_id}:{scope}")


def read_unsubscribe_token(secret: str, token: str | None) -> tuple[int, str] | None:
    """(resident id, kind or "all"), or None for a token that is forged, altered, signed for
    anything else, or oversized."""
    value = unsign(secret, UNSUBSCRIBE_PURPOSE, token, max_length=300)
    if not value:
        return None
    resident_id, _, scope = value.partition(":")
    if not resident_id.isdecimal() or (scope != ALL and scope not in set(Kind)):
        return None
    return int(resident_id), scope


def unsubscribe_url(notifier: Notifier, resident: Resident, scope: str) -> str:
    """The link (and List-Unsubscribe address), opening in the resident's language."""
    token = unsubscribe_token(notifier.secret, resident.id, scope)
    query = urlencode({"t": token, "lang": resident.language})
    return f"{notifier.site}{UNSUBSCRIBE_PATH}?{query}"


def wants(resident: Resident, kind: Kind) -> bool:
    off = resident.mail_opt_out or []
    return ALL not in off and kind.value not in off


def is_mailable(resident: Resident | None) -> bool:
    """A resident to whom notices may go at all: with an address, and that address confirmed
    (a resident identified strongly without an address gets none)."""
    return resident is not None and bool(resident.email) and resident.confirmed_at is not None


async def set_opt_out(session: AsyncSession, resident: Resident, off: list[str]) -> None:
    """The kinds the resident does not want, as chosen (`["all"]` for every kind). Notices of
    those kinds still waiting in the outbox are not sent either. Commits."""
    chosen = [ALL] if ALL in off else [kind.value for kind in Kind if kind.value in off]
    if len(chosen) == len(Kind):
        chosen = [ALL]
    resident.mail_opt_out = chosen
    stopped = list(TEMPLATES.values()) if chosen == [ALL] else [TEMPLATES[Kind(k)] for k in chosen]
    if stopped and resident.email:
        await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.recipient == resident.email,
                OutboxMessage.status == PENDING,
                OutboxMessage.template.in_(stopped),
            )
        )
    await session.commit()


async def resident_for_unsubscribe(
    session: AsyncSession, secret: str, token: str | None
) -> tuple[Resident, str] | None:
    found = read_unsubscribe_token(secret, token)
    if found is None:
        return None
    resident = await session.get(Resident, found[0])
    return (resident, found[1]) if resident is not None else None


async def unsubscribe(session: AsyncSession, secret: str, token: str | None) -> str | None:
    """Turn off what the token names; the kind (or "all") turned off, or None for a token that
    is not genuine. An account deleted since counts as done: it gets nothing anyway."""
    found = read_unsubscribe_token(secret, token)
    if found is None:
        return None
    resident_id, scope = found
    resident = await session.get(Resident, resident_id)
    if resident is not None:
        await set_opt_out(session, resident, [*(resident.mail_opt_out or []), scope])
    return scope


# Writing notices ------------------------------------------------------------------------------


def moment(value: dt.datetime) -> str:
    """A moment as the message's context keeps it (JSON); the message formats it."""
    return value.astimezone(dt.UTC).isoformat()


async def notify_author(
    session: AsyncSession,
    notifier: Notifier | None,
    proposal: Proposal,
    kind: Kind,
    round_: Round | None = None,
    **context: Any,
) -> bool:
    """Write the notice of `kind` about `proposal` for its author into the caller's transaction,
    if the author may and wants to get it. Nothing is sent unless the caller commits."""
    if notifier is None or proposal.author_id is None:
        return False
    resident = await session.get(Resident, proposal.author_id)
    if not is_mailable(resident) or not wants(resident, kind):
        return False
    round_ = round_ or await session.get(Round, proposal.round_id)
    await enqueue(
        session,
        resident.email,
        TEMPLATES[kind],
        resident.language,
        name=resident.display_name,
        title=dict(proposal.title),
        round_title=dict(round_.title),
        link=f"{notifier.site}/pb/{round_.slug}/proposals/{proposal.id}?lang={resident.language}",
        unsubscribe_url=unsubscribe_url(notifier, resident, kind.value),
        **context,
    )
    return True


async def announce_ballots(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    """When a round's voting has opened, tell the authors of the ideas on its ballot, once per
    round: the notices and the round's mark are committed together. Rounds are taken
    `FOR UPDATE SKIP LOCKED`, so two senders never announce one round twice. Returns the
    number of notices written."""
    notifier = Notifier.from_settings(settings)
    due = await session.scalars(
        select(Round)
        .where(
            Round.ballot_announced_at.is_(None),
            Round.voting_open_at <= now,
            Round.voting_close_at > now,
        )
        .order_by(Round.id)
        .with_for_update(skip_locked=True)
    )
    written = 0
    for round_ in list(due):
        for proposal in await session.scalars(
            select(Proposal)
            .where(
                Proposal.round_id == round_.id,
                Proposal.status == "accepted",
                Proposal.author_id.is_not(None),
            )
            .order_by(Proposal.id)
        ):
            written += await notify_author(
                session,
                notifier,
                proposal,
                Kind.BALLOT,
                round_,
                ballot=f"{notifier.site}/pb/{round_.slug}",
                closes=moment(round_.voting_close_at),
            )
        round_.ballot_announced_at = now
    await session.commit()
    return written

"""The registers staff keep beside the events: the organisers (each once, named per language, so
that the monitoring counts an organiser once by its id) and the event types they add to the
built-in ones. Every change is written in the staff audit log in the same transaction."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.errors import DomainError, NotFoundError
from app.events.models import (
    EVENT_TYPE_KEYS,
    EVENT_TYPE_LABELS,
    AddedEventType,
    Event,
    EventOrganiser,
    EventType,
    Organiser,
    OrganiserKind,
    event_type_label,
)
from app.forms import has_control_characters
from app.i18n import LANGUAGES, N_, gettext, gettext_in, localized

MAX_NAME_LENGTH = 200


# The refusals about names and the organisers an event names: the event form shows them at its
# organisers.
NAME_MESSAGES = frozenset(
    {
        N_("A name is given in Finnish, Swedish or English."),
        N_("A name cannot contain line breaks or control characters."),
        N_("A name can be at most 200 characters long."),
        N_("Give the name in at least one language."),
    }
)
ORGANISER_MESSAGES = NAME_MESSAGES | {
    N_("A chosen organiser is no longer in the register."),
    N_("Choose the kind of organiser."),
}


class NameRefusedError(DomainError):
    """A name the register cannot take as given: the form shows it at the name."""

    def form_errors(self) -> dict[str, str]:
        return {"name_fi": self.translated()}


def clean_name(name: dict[str, str]) -> dict[str, str]:
    """The name per language as stored: trimmed, only the content languages, at least one given.
    The forms check the same things field by field; this keeps any other caller honest."""
    cleaned: dict[str, str] = {}
    for language, given in name.items():
        if language not in LANGUAGES or not isinstance(given, str):
            raise NameRefusedError(N_("A name is given in Finnish, Swedish or English."))
        text = unicodedata.normalize("NFC", given).strip()
        # A name is one line: what the forms refuse in a one-line field (app.forms).
        if has_control_characters(text):
            raise NameRefusedError(N_("A name cannot contain line breaks or control characters."))
        if len(text) > MAX_NAME_LENGTH:
            raise NameRefusedError(N_("A name can be at most 200 characters long."))
        if text:
            cleaned[language] = text
    if not cleaned:
        raise NameRefusedError(N_("Give the name in at least one language."))
    return cleaned


def _same_name(first: dict[str, str], second: dict[str, str]) -> str | None:
    """The language in which two names are the same (without case or spaces), if any."""
    for language in LANGUAGES:
        a, b = first.get(language, ""), second.get(language, "")
        if a and b and a.strip().casefold() == b.strip().casefold():
            return language
    return None


# A transaction-level advisory lock on PostgreSQL: two requests that add the same new organiser
# at once would otherwise both find it missing and both add it. SQLite has one writer.
REGISTER_LOCK = 7342002  # next to the audit log's own (app.audit.services.HEAD_LOCK)


async def _lock_register(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REGISTER_LOCK})


def _sorted_by_name(rows):
    return sorted(rows, key=lambda row: (localized(row.name).casefold(), row.id))


# --- organisers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganiserInput:
    kind: OrganiserKind
    name: dict[str, str]


def organiser_snapshot(organiser: Organiser) -> dict:
    return {
        "kind": organiser.kind,
        "name": organiser.name,
        "retired": organiser.retired,
        "merged_into": organiser.merged_into_id,
    }


async def list_organisers(session: AsyncSession, *, retired: bool = True) -> list[Organiser]:
    """The register by name; without `retired`, only those offered for new events."""
    query = select(Organiser)
    if not retired:
        query = query.where(Organiser.retired.is_(False))
    return _sorted_by_name(await session.scalars(query))


async def organiser_event_counts(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(EventOrganiser.organiser_id, func.count()).group_by(EventOrganiser.organiser_id)
    )
    return {organiser_id: int(count) for organiser_id, count in rows}


async def get_organiser(session: AsyncSession, organiser_id: int) -> Organiser:
    organiser = await session.get(Organiser, organiser_id)
    if organiser is None:
        raise NotFoundError(N_("No such organiser."))
    return organiser


async def _name_taken(
    session: AsyncSession, kind: str, name: dict[str, str], exclude_id: int | None = None
) -> Organiser | None:
    """An organiser still in use of the same kind with the same name in some language."""
    query = select(Organiser).where(Organiser.kind == kind, Organiser.retired.is_(False))
    if exclude_id is not None:
        query = query.where(Organiser.id != exclude_id)
    for other in await session.scalars(query):
        if _same_name(other.name, name):
            return other
    return None


def _check_kind(kind: object) -> OrganiserKind:
    try:
        return OrganiserKind(kind)
    except ValueError as error:
        raise DomainError(N_("Choose the kind of organiser.")) from error


async def create_organiser(session: AsyncSession, data: OrganiserInput) -> Organiser:
    kind, name = _check_kind(data.kind), clean_name(data.name)
    await _lock_register(session)
    if await _name_taken(session, kind.value, name):
        raise DomainError(N_("The register already has an organiser of this kind by this name."))
    organiser = await _new_organiser(session, kind, name)
    await session.commit()
    return organiser


async def _new_organiser(session: AsyncSession, kind: OrganiserKind, name: dict) -> Organiser:
    """A new organiser in the register, with its audit record, in the caller's transaction."""
    organiser = Organiser(kind=kind.value, name=name, retired=False)
    session.add(organiser)
    await session.flush()
    await record_action(
        session,
        None,
        "organiser.create",
        f"organiser {organiser.id}",
        None,
        organiser_snapshot(organiser),
    )
    return organiser


async def rename_organiser(
    session: AsyncSession, organiser: Organiser, data: OrganiserInput
) -> Organiser:
    """A new name (or kind) for an organiser: every event it organised shows the new one."""
    kind, name = _check_kind(data.kind), clean_name(data.name)
    await _lock_register(session)
    if await _name_taken(session, kind.value, name, exclude_id=organiser.id):
        raise DomainError(N_("The register already has an organiser of this kind by this name."))
    before = organiser_snapshot(organiser)
    organiser.kind, organiser.name = kind.value, name
    await session.flush()
    await record_action(
        session,
        None,
        "organiser.rename",
        f"organiser {organiser.id}",
        before,
        organiser_snapshot(organiser),
    )
    await session.commit()
    return organiser


async def set_organiser_retired(
    session: AsyncSession, organiser: Organiser, *, retired: bool
) -> Organiser:
    """A retired organiser stays on its events but is no longer offered for new ones."""
    if organiser.merged_into_id is not None:
        raise DomainError(N_("This organiser was merged into another and cannot be restored."))
    if not retired and await _name_taken(
        session, organiser.kind, organiser.name, exclude_id=organiser.id
    ):
        raise DomainError(N_("The register already has an organiser of this kind by this name."))
    before = organiser_snapshot(organiser)
    organiser.retired = retired
    await session.flush()
    action = "organiser.retire" if retired else "organiser.restore"
    await record_action(
        session, None, action, f"organiser {organiser.id}", before, organiser_snapshot(organiser)
    )
    await session.commit()
    return organiser


async def merge_organiser(session: AsyncSession, organiser: Organiser, into_id: int) -> Organiser:
    """The same organiser entered twice: its events move to the other one (an event that had
    both keeps one), and it is retired, pointing to the one it was merged into."""
    if into_id == organiser.id:
        raise DomainError(N_("Choose another organiser to merge this one into."))
    into = await session.get(Organiser, into_id)
    if into is None or into.retired:
        raise DomainError(N_("Choose another organiser to merge this one into."))
    if organiser.merged_into_id is not None:
        raise DomainError(N_("This organiser was already merged into another."))
    before = organiser_snapshot(organiser)
    with_both = set(
        await session.scalars(
            select(EventOrganiser.event_id).where(EventOrganiser.organiser_id == into.id)
        )
    )
    links = list(
        await session.scalars(
            select(EventOrganiser).where(EventOrganiser.organiser_id == organiser.id)
        )
    )
    # Through the session, row by row (merges are rare): the events loaded in it see the change.
    for link in links:
        if link.event_id in with_both:
            await session.delete(link)
        else:
            link.organiser = into
    organiser.retired, organiser.merged_into_id = True, into.id
    await session.flush()
    after = {**organiser_snapshot(organiser), "events_moved": len(links)}
    await record_action(
        session, None, "organiser.merge", f"organiser {organiser.id}", before, after
    )
    await session.commit()
    return into


async def organisers_for_event(
    session: AsyncSession,
    chosen_ids: list[int],
    new: list[tuple[OrganiserKind, dict[str, str]]],
    *,
    current_ids: frozenset[int] = frozenset(),
) -> list[Organiser]:
    """The organisers an event form names, in order: those chosen from the register (a retired
    one only if the event already had it), then those typed in. A typed name already in the
    register is that organiser; another joins the register (audited). Does not commit: the
    event's own save does, with these records."""
    found = {
        o.id: o
        for o in await session.scalars(select(Organiser).where(Organiser.id.in_(chosen_ids)))
    }
    result: list[Organiser] = []
    for organiser_id in chosen_ids:
        organiser = found.get(organiser_id)
        if organiser is None or (organiser.retired and organiser_id not in current_ids):
            raise DomainError(N_("A chosen organiser is no longer in the register."))
        if organiser not in result:
            result.append(organiser)
    if new:
        await _lock_register(session)
    for given_kind, given_name in new:
        kind, name = _check_kind(given_kind), clean_name(given_name)
        organiser = await _name_taken(session, kind.value, name)
        if organiser is None:
            organiser = next(
                (o for o in result if o.kind == kind.value and _same_name(o.name, name)), None
            )
        if organiser is None:
            organiser = await _new_organiser(session, kind, name)
        if organiser not in result:
            result.append(organiser)
    return result


# --- event types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventTypeOption:
    """An event type as the forms and filters offer it: its stable key and its name now."""

    key: str
    label: str
    retired: bool = False


def type_snapshot(added: AddedEventType) -> dict:
    return {"key": added.key, "name": added.name, "retired": added.retired}


async def list_added_types(session: AsyncSession) -> list[AddedEventType]:
    return _sorted_by_name(await session.scalars(select(AddedEventType)))


async def event_type_options(
    session: AsyncSession, *, retired: bool = False, keep: str | None = None
) -> list[EventTypeOption]:
    """The built-in types in their order, then the added ones by name; retired ones only with
    `retired` (the filters, which find past events too) or when `keep` is theirs (an event's own
    type on its form)."""
    options = [EventTypeOption(t.value, gettext(EVENT_TYPE_LABELS[t])) for t in EventType]
    for added in await list_added_types(session):
        if retired or not added.retired or added.key == keep:
            options.append(
                EventTypeOption(added.key, event_type_label(added.key, added), added.retired)
            )
    return options


async def event_type_labels(session: AsyncSession) -> dict[str, str]:
    """Every type's name in the current language, by key (retired ones too: old events)."""
    return {option.key: option.label for option in await event_type_options(session, retired=True)}


async def get_added_type(session: AsyncSession, type_id: int) -> AddedEventType:
    added = await session.get(AddedEventType, type_id)
    if added is None:
        raise NotFoundError(N_("No such event type."))
    return added


def type_key(name: dict[str, str]) -> str:
    """A stable key from the name (English, else Finnish or Swedish), like the built-in keys."""
    text = name.get("en") or name.get("fi") or next(iter(name.values()))
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:24] or "type"


async def _type_name_taken(
    session: AsyncSession, name: dict[str, str], exclude_id: int | None = None
) -> bool:
    for event_type in EventType:
        label = EVENT_TYPE_LABELS[event_type]
        builtin = {language: gettext_in(language, label) for language in LANGUAGES}
        if _same_name(builtin, name):
            return True
    query = select(AddedEventType)
    if exclude_id is not None:
        query = query.where(AddedEventType.id != exclude_id)
    return any(_same_name(other.name, name) for other in await session.scalars(query))


async def add_event_type(session: AsyncSession, name: dict[str, str]) -> AddedEventType:
    name = clean_name(name)
    if await _type_name_taken(session, name):
        raise DomainError(N_("There is already an event type by this name."))
    base, number = type_key(name), 2
    key = base
    taken = set(await session.scalars(select(AddedEventType.key))) | EVENT_TYPE_KEYS
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    added = AddedEventType(key=key, name=name, retired=False)
    session.add(added)
    await session.flush()
    await record_action(
        session, None, "event_type.add", f"event type {added.key}", None, type_snapshot(added)
    )
    await session.commit()
    return added


async def rename_event_type(
    session: AsyncSession, added: AddedEventType, name: dict[str, str]
) -> AddedEventType:
    """A new name; the key stays, so the events and the open data keep their code."""
    name = clean_name(name)
    if await _type_name_taken(session, name, exclude_id=added.id):
        raise DomainError(N_("There is already an event type by this name."))
    before = type_snapshot(added)
    added.name = name
    await session.flush()
    await record_action(
        session, None, "event_type.rename", f"event type {added.key}", before, type_snapshot(added)
    )
    await session.commit()
    return added


async def set_event_type_retired(
    session: AsyncSession, added: AddedEventType, *, retired: bool
) -> AddedEventType:
    """A retired type stays on its events and in the filters; new events cannot have it."""
    before = type_snapshot(added)
    added.retired = retired
    await session.flush()
    action = "event_type.retire" if retired else "event_type.restore"
    await record_action(
        session, None, action, f"event type {added.key}", before, type_snapshot(added)
    )
    await session.commit()
    return added


async def events_of_type(session: AsyncSession, key: str) -> int:
    return await session.scalar(select(func.count()).where(Event.event_type == key)) or 0

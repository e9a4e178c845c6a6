"""Pictures of proposals and of implementation milestones: attach, replace, describe, reorder and
remove, each the one write path of its action, recorded in the staff audit log.

The rules live here. A picture needs its alternative text (what a screen reader says instead
of it) in each language its owner must be readable in: Finnish and Swedish, as the ballot, and
the language the idea was written in. An owner has at most `MAX_PICTURES`. The file is checked
by its content and encoded anew (app/images.py) before anything is stored; a refused upload
stores nothing, neither a row nor a file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.errors import DomainError, NotFoundError
from app.i18n import LANGUAGES, N_, gettext
from app.images import MAX_PIXELS, PictureError, prepare_picture
from app.media import MediaStore, new_key
from app.off_loop import in_worker_thread
from voting.models import Picture, Proposal
from voting.translations import BALLOT_LANGUAGES

OWNER_KINDS = ("proposal", "milestone")
MAX_PICTURES = 6
MAX_ALT_LENGTH = 250

# Why an upload was refused, by app.images.PictureError's reason (and two of our own).
REASONS = {
    "empty": N_("Choose a picture file."),
    "not_a_picture": N_("The file is not a picture in JPEG, PNG or WebP format."),
    "too_many_pixels": N_("The picture has too many pixels: at most %(megapixels)s megapixels."),
    "too_small": N_("The picture is too small: at least 16 pixels each way."),
    "too_large": N_("The file is too large: at most %(megabytes)s MB."),
}
TOO_MANY = N_("There can be at most %(count)s pictures.")
ALT_MISSING = N_("Describe the picture in this language for those who cannot see it.")
ALT_TOO_LONG = N_("Keep the description short: at most %(count)s characters.")
ALT_REQUIRED = N_("Describe the picture in each language asked for.")
NO_SUCH_PICTURE = N_("There is no such picture.")


@dataclass(frozen=True)
class PictureOwner:
    """What a picture belongs to, and the languages its alternative text is required in."""

    kind: str
    id: int
    languages: tuple[str, ...]
    # Why no picture may be added, replaced or moved now (a msgid), or None. Describing and
    # removing stay open: a face or a number plate must come off a published picture at once.
    locked: str | None = None

    @property
    def target(self) -> str:
        """The audit record's target ("proposal 12")."""
        return f"{self.kind} {self.id}"


def alt_languages(original: str | None) -> tuple[str, ...]:
    """The ballot's languages and the one the owner was written in, in the site's order."""
    wanted = set(BALLOT_LANGUAGES) | ({original} if original in LANGUAGES else set())
    return tuple(code for code in LANGUAGES if code in wanted)


def proposal_owner(proposal: Proposal, frozen: str | None = None) -> PictureOwner:
    """A proposal as the owner of pictures; `frozen` (rounds.frozen_by): the ballot is fixed,
    and so are its pictures and their order."""
    return PictureOwner("proposal", proposal.id, alt_languages(proposal.language), frozen)


def milestone_owner(milestone, proposal: Proposal) -> PictureOwner:
    """An implementation milestone as the owner of pictures: described in the ballot's languages
    and the proposal's own (pictures of work in progress are added at any time)."""
    return PictureOwner("milestone", milestone.id, alt_languages(proposal.language))


def _unlocked(owner: PictureOwner) -> None:
    if owner.locked:
        raise DomainError(owner.locked)


class PictureRefusedError(DomainError):
    """The upload or its description was refused; `field_errors` says where (field -> text)."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None, **params) -> None:
        super().__init__(message, **params)
        self.field_errors = field_errors or {}

    def form_errors(self) -> dict[str, str]:
        """Each field's error in the reader's language (the whole form's without any)."""
        fields = {
            name: gettext(message) % self.params for name, message in self.field_errors.items()
        }
        return fields or super().form_errors()


def checked_alt(owner: PictureOwner, alt: dict[str, str]) -> dict[str, str]:
    """The alternative texts to store (stripped, the empty ones dropped); raises PictureRefusedError
    naming each required language left empty and each text too long (fields `alt_<code>`)."""
    cleaned = {
        code: " ".join(str(alt.get(code) or "").split())
        for code in LANGUAGES
        if " ".join(str(alt.get(code) or "").split())
    }
    errors = {f"alt_{code}": ALT_MISSING for code in owner.languages if code not in cleaned}
    errors |= {
        f"alt_{code}": ALT_TOO_LONG for code, text in cleaned.items() if len(text) > MAX_ALT_LENGTH
    }
    if errors:
        raise PictureRefusedError(ALT_REQUIRED, errors)
    return cleaned


async def _prepared(data: bytes, max_bytes: int):
    if len(data) > max_bytes:
        raise PictureRefusedError(
            REASONS["too_large"], {"picture": REASONS["too_large"]}, megabytes=max_bytes >> 20
        )
    try:
        # Decoding and encoding a photo takes a good part of a second: in a worker thread.
        return await in_worker_thread(prepare_picture, data)
    except PictureError as error:
        message = REASONS[error.reason]
        params = (
            {"megapixels": MAX_PIXELS // 1_000_000} if error.reason == "too_many_pixels" else {}
        )
        raise PictureRefusedError(message, {"picture": message}, **params) from None


def _summary(picture: Picture) -> dict[str, Any]:
    return {
        "picture": picture.id,
        "position": picture.position,
        "file": picture.file_key,
        "width": picture.width,
        "height": picture.height,
        "alt": picture.alt,
    }


async def _commit_with_files(session: AsyncSession, store: MediaStore, key: str, variants) -> None:
    """Write the files, then commit; a failed commit takes its files away again."""
    await in_worker_thread(store.write, key, variants)
    try:
        await session.commit()
    except BaseException:
        await in_worker_thread(store.delete, key, [width for width, _data in variants])
        raise


async def pictures_of(session: AsyncSession, owner: PictureOwner) -> list[Picture]:
    return list(
        await session.scalars(
            select(Picture)
            .where(Picture.owner_kind == owner.kind, Picture.owner_id == owner.id)
            .order_by(Picture.position, Picture.id)
        )
    )


async def pictures_by_owner(
    session: AsyncSession, kind: str, owner_ids: Iterable[int]
) -> dict[int, list[Picture]]:
    """Every picture of these owners, in order (one query for a whole list page)."""
    ids = sorted(set(owner_ids))
    found: dict[int, list[Picture]] = defaultdict(list)
    if not ids:
        return found
    for picture in await session.scalars(
        select(Picture)
        .where(Picture.owner_kind == kind, Picture.owner_id.in_(ids))
        .order_by(Picture.owner_id, Picture.position, Picture.id)
    ):
        found[picture.owner_id].append(picture)
    return found


async def first_pictures_of_round(session: AsyncSession, round_id: int) -> dict[int, Picture]:
    """The first picture of each proposal of the round whose text the public sees (the results
    cards show it); a hidden idea's pictures are not shown, as its text is not."""
    found: dict[int, Picture] = {}
    for picture in await session.scalars(
        select(Picture)
        .join(Proposal, Proposal.id == Picture.owner_id)
        .where(
            Picture.owner_kind == "proposal",
            Proposal.round_id == round_id,
            Proposal.moderation == "published",
        )
        .order_by(Picture.owner_id, Picture.position, Picture.id)
    ):
        found.setdefault(picture.owner_id, picture)
    return found


async def get_picture(session: AsyncSession, owner: PictureOwner, picture_id: int) -> Picture:
    picture = await session.get(Picture, picture_id)
    if picture is None or (picture.owner_kind, picture.owner_id) != (owner.kind, owner.id):
        raise NotFoundError(NO_SUCH_PICTURE)
    return picture


async def attach(
    session: AsyncSession,
    store: MediaStore,
    owner: PictureOwner,
    data: bytes,
    alt: dict[str, str],
    actor: Any,
    *,
    max_bytes: int,
) -> Picture:
    """Add a picture after the owner's others. Everything is checked before anything is stored."""
    if owner.kind not in OWNER_KINDS:
        raise ValueError(f"no pictures for {owner.kind!r}")
    _unlocked(owner)
    errors: dict[str, str] = {}
    try:
        alt = checked_alt(owner, alt)
    except PictureRefusedError as refused:
        errors |= refused.field_errors
    if not data:
        errors["picture"] = REASONS["empty"]
    if errors:
        only_the_file = set(errors) == {"picture"}
        raise PictureRefusedError(REASONS["empty"] if only_the_file else ALT_REQUIRED, errors)
    count = await session.scalar(
        select(func.count())
        .select_from(Picture)
        .where(Picture.owner_kind == owner.kind, Picture.owner_id == owner.id)
    )
    if count >= MAX_PICTURES:
        raise PictureRefusedError(TOO_MANY, {"picture": TOO_MANY}, count=MAX_PICTURES)
    prepared = await _prepared(data, max_bytes)
    last = await session.scalar(
        select(func.max(Picture.position)).where(
            Picture.owner_kind == owner.kind, Picture.owner_id == owner.id
        )
    )
    picture = Picture(
        owner_kind=owner.kind,
        owner_id=owner.id,
        position=(last or 0) + 1,
        alt=alt,
        file_key=new_key(),
        widths=[width for width, _data in prepared.variants],
        width=prepared.width,
        height=prepared.height,
        created_by=getattr(actor, "id", None),
    )
    session.add(picture)
    await session.flush()
    await record_action(session, actor, "picture.add", owner.target, None, _summary(picture))
    await _commit_with_files(session, store, picture.file_key, prepared.variants)
    return picture


async def replace(
    session: AsyncSession,
    store: MediaStore,
    owner: PictureOwner,
    picture: Picture,
    data: bytes,
    actor: Any,
    *,
    max_bytes: int,
) -> Picture:
    """A new file in the picture's place, with its description; the old files are deleted.
    The new file gets a new name, so no cache anywhere keeps showing the old one."""
    _unlocked(owner)
    if not data:
        raise PictureRefusedError(REASONS["empty"], {"picture": REASONS["empty"]})
    prepared = await _prepared(data, max_bytes)
    before = _summary(picture)
    old_key, old_widths = picture.file_key, list(picture.widths)
    picture.file_key = new_key()
    picture.widths = [width for width, _data in prepared.variants]
    picture.width, picture.height = prepared.width, prepared.height
    await record_action(session, actor, "picture.replace", owner.target, before, _summary(picture))
    await _commit_with_files(session, store, picture.file_key, prepared.variants)
    await in_worker_thread(store.delete, old_key, old_widths)
    return picture


async def describe(
    session: AsyncSession, owner: PictureOwner, picture: Picture, alt: dict[str, str], actor: Any
) -> None:
    """Change the picture's alternative text."""
    alt = checked_alt(owner, alt)
    before = _summary(picture)
    picture.alt = alt
    await record_action(session, actor, "picture.describe", owner.target, before, _summary(picture))
    await session.commit()


async def move(
    session: AsyncSession, owner: PictureOwner, picture: Picture, step: int, actor: Any
) -> None:
    """Move the picture one place earlier (step -1) or later (+1); the first one is the one
    lists and cards show."""
    _unlocked(owner)
    pictures = await pictures_of(session, owner)
    index = next(i for i, p in enumerate(pictures) if p.id == picture.id)
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(pictures):
        return
    pictures[index], pictures[other] = pictures[other], pictures[index]
    for position, each in enumerate(pictures, start=1):
        each.position = position
    await record_action(
        session,
        actor,
        "picture.move",
        owner.target,
        None,
        {"order": [each.id for each in pictures]},
    )
    await session.commit()


async def remove(
    session: AsyncSession, store: MediaStore, owner: PictureOwner, picture: Picture, actor: Any
) -> None:
    """Delete the picture and its files (after the commit: a refused commit keeps both)."""
    key, widths = picture.file_key, list(picture.widths)
    before = _summary(picture)
    await session.delete(picture)
    await session.flush()
    for position, each in enumerate(await pictures_of(session, owner), start=1):
        each.position = position
    await record_action(session, actor, "picture.remove", owner.target, before, None)
    await session.commit()
    await in_worker_thread(store.delete, key, widths)


async def forget_pictures_of(
    session: AsyncSession, kind: str, owner_ids: Iterable[int]
) -> list[tuple[str, list[int]]]:
    """Delete the rows of these owners' pictures in the caller's transaction (an owner that is
    deleted takes its pictures along); returns (file key, widths) of each, for
    `delete_files` once the caller has committed."""
    found = [
        (picture.file_key, list(picture.widths))
        for owned in (await pictures_by_owner(session, kind, owner_ids)).values()
        for picture in owned
    ]
    await session.execute(
        delete(Picture).where(Picture.owner_kind == kind, Picture.owner_id.in_(list(owner_ids)))
    )
    return found


async def delete_files(store: MediaStore, files: list[tuple[str, list[int]]]) -> None:
    for key, widths in files:
        await in_worker_thread(store.delete, key, widths)

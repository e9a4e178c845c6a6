"""A resident edits or withdraws their own idea during the ideas phase (issue #16, item 5), on
PostgreSQL: every earlier text kept for staff, an edited public idea checked again under
pre-moderation, a withdrawn idea gone from the lists and the review. Attacks: someone else's
idea (IDOR), after the ideas phase, without the CSRF token, and hostile input."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import func, select, text

from app.accounts.models import Role
from app.audit.models import AuditRecord
from app.database import Database, utcnow
from app.errors import DomainError
from app.migrate import alembic_config, upgrade_to_head
from tests.app.test_html_validity import check_html
from tests.factories import make_area, make_user, signed_in_as
from tests.voting.factories import add_proposal, make_round, move_to
from tests.voting.test_pb_rounds import form, register_and_sign_in
from voting import moderation, own_ideas, rounds
from voting.models import Proposal, ProposalVersion, Resident
from voting.translations import translation_gaps

ORIGINAL_TITLE = "Penkkejä puistoon"
ORIGINAL_TEXT = "Kolme penkkiä leikkipaikan viereen."


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def send_idea(client, db, email="asukas@example.fi"):
    """A signed-in resident's idea in a round collecting ideas, checked and public."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await register_and_sign_in(client, db, email=email)
    sent = await client.post(
        f"/pb/{round_.slug}/propose",
        data=form(
            client,
            language="fi",
            title=ORIGINAL_TITLE,
            description=ORIGINAL_TEXT,
            area=str(kallio.id),
            estimated_cost="3000",
        ),
    )
    assert sent.status_code == 303, sent.text
    proposal = await db.scalar(select(Proposal))
    await moderation.moderate(
        db, proposal, moderation.ModerationDecision(moderation.ModerationAction.PUBLISH)
    )
    await db.refresh(proposal)
    assert proposal.moderation == "published"
    return round_, proposal


def edit_fields(client, **changes):
    return form(
        client,
        **{
            "language": "sv",
            "title": "Bänkar i parken",
            "description": "Tre bänkar vid lekplatsen.",
            **changes,
        },
    )


async def test_an_author_edits_their_idea_and_every_earlier_text_is_kept(client, db):
    round_, idea = await send_idea(client, db)
    url = f"/pb/{round_.slug}/proposals/{idea.id}"
    page = await client.get(f"{url}?lang=en")
    assert "Change or withdraw your idea" in page.text
    edit_page = await client.get(f"{url}/edit")
    assert edit_page.status_code == 200
    assert ORIGINAL_TITLE in edit_page.text
    assert "is checked again before others see it" in edit_page.text

    # A mistake first: the title left empty. Nothing is stored.
    mistake = await client.post(f"{url}/edit", data=edit_fields(client, title=""))
    assert mistake.status_code == 400
    assert "error-summary" in mistake.text
    assert 'href="#field-title"' in mistake.text
    assert await count(db, ProposalVersion) == 0

    first = await client.post(f"{url}/edit", data=edit_fields(client))
    assert first.status_code == 303
    assert first.headers["location"] == f"{url}?edited=1"
    second = await client.post(
        f"{url}/edit", data=edit_fields(client, title="Fyra bänkar i parken")
    )
    assert second.status_code == 303
    await db.refresh(idea)
    assert (idea.title, idea.language) == ({"sv": "Fyra bänkar i parken"}, "sv")
    assert idea.description == {"sv": "Tre bänkar vid lekplatsen."}
    versions = list(await db.scalars(select(ProposalVersion).order_by(ProposalVersion.number)))
    assert [(v.number, v.title, v.by_author, v.replaced_by) for v in versions] == [
        (1, {"fi": ORIGINAL_TITLE}, True, None),
        (2, {"sv": "Bänkar i parken"}, True, None),
    ]
    assert versions[0].description == {"fi": ORIGINAL_TEXT}
    # The resident's edits are not staff actions: the staff's check is the only record.
    actions = await db.scalars(
        select(AuditRecord.action).where(AuditRecord.action.like("proposal.%"))
    )
    assert list(actions) == ["proposal.publish"]
    shown = await client.get(first.headers["location"])
    assert "Your changes have been saved." in shown.text
    unchanged = await client.post(
        f"{url}/edit", data=edit_fields(client, title="Fyra bänkar i parken")
    )
    assert unchanged.status_code == 400
    assert "The text is unchanged." in unchanged.text

    client.cookies.clear()
    await signed_in_as(client, db, Role.STAFF)
    staff_page = await client.get(f"/staff/pb/{round_.id}/proposals/{idea.id}")
    assert "Version 1, replaced" in staff_page.text
    assert "Version 2, replaced" in staff_page.text
    assert "by its author" in staff_page.text
    assert ORIGINAL_TITLE in staff_page.text
    assert "title (Finnish, Swedish)" in staff_page.text


async def test_under_premoderation_an_edited_public_idea_waits_for_a_check_again(client, db):
    round_, idea = await send_idea(client, db)
    edited = await client.post(
        f"/pb/{round_.slug}/proposals/{idea.id}/edit", data=edit_fields(client)
    )
    assert edited.status_code == 303
    await db.refresh(idea)
    assert idea.moderation == "pending"
    assert [item.proposal.id for item in (await moderation.needs_attention(db)).items] == [idea.id]
    client.cookies.clear()
    listing = await client.get(f"/pb/{round_.slug}/proposals?lang=en")
    assert "Bänkar" not in listing.text
    assert ORIGINAL_TITLE not in listing.text
    assert (await client.get(f"/pb/{round_.slug}/proposals/{idea.id}")).status_code == 404


async def test_without_premoderation_an_edited_idea_stays_public(db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    resident = Resident(email="a@example.fi", display_name="A", password_hash="x")
    db.add(resident)
    await db.commit()
    draft = rounds.ProposalDraft({"fi": "Penkit"}, {"fi": "Kolme"}, kallio.id, 1000)
    idea = await rounds.submit_proposal(db, round_, resident.id, draft, premoderation=False)
    new_text = own_ideas.IdeaText("fi", "Penkit ja roskis", "Kolme penkkiä ja roskis")
    await own_ideas.edit_own_idea(db, idea, resident, new_text, premoderation=False)
    await db.refresh(idea)
    assert (idea.title, idea.moderation) == ({"fi": "Penkit ja roskis"}, "published")


async def test_an_author_withdraws_their_idea_and_it_leaves_the_lists_and_the_review(client, db):
    round_, idea = await send_idea(client, db)
    url = f"/pb/{round_.slug}/proposals/{idea.id}"
    # A mistake first: the box that confirms it is not ticked. Nothing changes.
    unticked = await client.post(f"{url}/withdraw", data=form(client))
    assert unticked.status_code == 400
    assert "Tick the box to confirm that you withdraw the idea." in unticked.text
    await db.refresh(idea)
    assert idea.status == "submitted"

    withdrawn = await client.post(f"{url}/withdraw", data=form(client, confirm="on"))
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == f"{url}?withdrawn=1"
    await db.refresh(idea)
    assert idea.status == "withdrawn"
    own = await client.get(withdrawn.headers["location"])
    assert own.status_code == 200
    assert "You have withdrawn this idea." in own.text
    assert "Change or withdraw your idea" not in own.text
    assert "Report this idea" not in own.text
    account = await client.get("/account")
    assert "Withdrawn by its author" in account.text
    again = await client.post(f"{url}/edit", data=edit_fields(client))
    assert again.status_code == 400
    assert "can no longer be changed or withdrawn" in again.text

    client.cookies.clear()
    assert (await client.get(url)).status_code == 404
    for path in (f"/pb/{round_.slug}", f"/pb/{round_.slug}/proposals"):
        page = await client.get(f"{path}?lang=en")
        assert ORIGINAL_TITLE not in page.text, path
    assert (await client.get(f"/pb/{round_.slug}/proposals?status=withdrawn")).status_code == 400

    await move_to(db, round_, "review")
    other = await add_proposal(db, round_, None, "Another idea", 1000, "submitted")
    await signed_in_as(client, db, Role.STAFF)
    staff_round = await client.get(f"/staff/pb/{round_.id}")
    assert ORIGINAL_TITLE not in staff_round.text
    assert (await moderation.needs_attention(db)).total == 0
    staff_page = await client.get(f"/staff/pb/{round_.id}/proposals/{idea.id}")
    assert "Withdrawn by its author" in staff_page.text
    assert 'value="accept"' not in staff_page.text
    accepted = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}",
        data=form(client, action="accept", final_cost="1000"),
    )
    assert accepted.status_code == 400
    assert "Its author has withdrawn this idea" in accepted.text
    merged = await client.post(
        f"/staff/pb/{round_.id}/proposals/{other.id}",
        data=form(client, action="merge", merge_into=str(idea.id)),
    )
    assert merged.status_code == 400
    await db.refresh(idea)
    await db.refresh(other)
    assert (idea.status, other.status) == ("withdrawn", "submitted")


async def test_another_resident_cannot_edit_or_withdraw_someone_else_s_idea(client, db):
    round_, idea = await send_idea(client, db)
    url = f"/pb/{round_.slug}/proposals/{idea.id}"
    client.cookies.clear()
    await register_and_sign_in(client, db, email="toinen@example.fi")
    page = await client.get(f"{url}?lang=en")
    assert page.status_code == 200
    assert "Change or withdraw your idea" not in page.text
    assert (await client.get(f"{url}/edit")).status_code == 404
    edited = await client.post(f"{url}/edit", data=edit_fields(client, title="Hijacked"))
    assert edited.status_code == 404
    withdrawn = await client.post(f"{url}/withdraw", data=form(client, confirm="on"))
    assert withdrawn.status_code == 404
    # Nor through another round's address.
    other_round = await make_round(db, "ideas", {None: 100_000})
    moved = await client.post(
        f"/pb/{other_round.slug}/proposals/{idea.id}/edit", data=edit_fields(client)
    )
    assert moved.status_code == 404

    client.cookies.clear()
    await client.get("/account/sign-in?lang=en")  # a form page: the CSRF cookie
    anonymous = await client.post(f"{url}/edit", data=edit_fields(client, title="Anonymous"))
    assert anonymous.status_code == 403
    assert (await client.get(f"{url}/edit")).status_code == 303
    await db.refresh(idea)
    assert (idea.title, idea.status) == ({"fi": ORIGINAL_TITLE}, "submitted")
    assert await count(db, ProposalVersion) == 0


async def test_an_idea_cannot_be_changed_after_the_ideas_phase_or_once_reviewed(client, db):
    round_, idea = await send_idea(client, db)
    url = f"/pb/{round_.slug}/proposals/{idea.id}"
    await move_to(db, round_, "review")
    page = await client.get(f"{url}?lang=en")
    assert "Change or withdraw your idea" not in page.text
    edit_page = await client.get(f"{url}/edit")
    assert "only while ideas are collected" in edit_page.text
    assert "<form" not in edit_page.text.split("<main", 1)[1].split("</main>")[0]
    late = await client.post(f"{url}/edit", data=edit_fields(client))
    assert late.status_code == 400
    assert "only while ideas are collected" in late.text
    late_withdrawal = await client.post(f"{url}/withdraw", data=form(client, confirm="on"))
    assert late_withdrawal.status_code == 400

    await move_to(db, round_, "ideas")
    idea.status = "accepted"
    await db.commit()
    reviewed = await client.post(f"{url}/edit", data=edit_fields(client))
    assert reviewed.status_code == 400
    assert "has been reviewed already" in reviewed.text
    idea.status, idea.moderation = "submitted", "hidden"
    await db.commit()
    hidden = await client.post(f"{url}/edit", data=edit_fields(client))
    assert hidden.status_code == 400
    assert "The moderators have hidden this idea" in hidden.text
    await db.refresh(idea)
    assert idea.title == {"fi": ORIGINAL_TITLE}
    assert await count(db, ProposalVersion) == 0


async def test_editing_and_withdrawing_need_the_csrf_token(client, db):
    round_, idea = await send_idea(client, db)
    url = f"/pb/{round_.slug}/proposals/{idea.id}"
    fields = {"language": "fi", "title": "Uusi", "description": "Uusi teksti"}
    assert (await client.post(f"{url}/edit", data=fields)).status_code == 403
    forged = {**fields, "_csrf_token": "forged"}
    assert (await client.post(f"{url}/edit", data=forged)).status_code == 403
    assert (await client.post(f"{url}/withdraw", data={"confirm": "on"})).status_code == 403
    await db.refresh(idea)
    assert (idea.title, idea.status) == ({"fi": ORIGINAL_TITLE}, "submitted")


@pytest.mark.parametrize(
    "changes",
    [
        {"title": ""},
        {"title": "   "},
        {"description": ""},
        {"title": "x" * 121},
        {"description": "y" * 3001},
        {"title": "bell\x07"},
        {"language": "de"},
        {"language": "<script>"},
        {"language": ""},
    ],
)
async def test_bad_edits_are_refused_and_store_nothing(client, db, changes):
    round_, idea = await send_idea(client, db)
    response = await client.post(
        f"/pb/{round_.slug}/proposals/{idea.id}/edit", data=edit_fields(client, **changes)
    )
    assert response.status_code == 400
    assert "error-summary" in response.text
    assert "<script>" not in response.text
    await db.refresh(idea)
    assert idea.title == {"fi": ORIGINAL_TITLE}
    assert await count(db, ProposalVersion) == 0


async def test_a_hostile_title_is_stored_as_text_and_shown_escaped(client, db):
    round_, idea = await send_idea(client, db)
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    edited = await client.post(
        f"/pb/{round_.slug}/proposals/{idea.id}/edit",
        data=edit_fields(client, language="fi", title=hostile, description=hostile),
    )
    assert edited.status_code == 303
    await db.refresh(idea)
    assert idea.title == {"fi": hostile}
    page = await client.get(f"/pb/{round_.slug}/proposals/{idea.id}")
    assert "&lt;script&gt;alert" in page.text
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text


async def test_the_edit_pages_are_valid_html_in_every_language(client, db, tmp_path):
    round_, idea = await send_idea(client, db)
    url = f"/pb/{round_.slug}/proposals/{idea.id}"
    pages = {}
    for language in ("fi", "sv", "en"):
        await client.get(f"/?lang={language}")
        pages[f"{language}-edit"] = (await client.get(f"{url}/edit")).text
        pages[f"{language}-edit-error"] = (
            await client.post(f"{url}/edit", data=edit_fields(client, title=""))
        ).text
        pages[f"{language}-withdraw-error"] = (
            await client.post(f"{url}/withdraw", data=form(client))
        ).text
    assert "Muuta ideaasi" in pages["fi-edit"]
    assert "Ändra din idé" in pages["sv-edit"]
    await client.post(f"{url}/withdraw", data=form(client, confirm="on"))
    pages["withdrawn"] = (await client.get(f"{url}?withdrawn=1")).text
    files = []
    for number, (label, html) in enumerate(pages.items()):
        assert "<!doctype html>" in html.lower()[:20], label
        path = tmp_path / f"page{number}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)
    assert check_html(files) == []


async def test_withdrawing_while_staff_accept_leaves_one_outcome_and_edits_queue(db, database):
    """The author's withdrawal and a staff member's acceptance at the same moment: one of them
    wins, the other is refused, never an accepted idea that is also withdrawn. The author's edit
    and a staff translation at the same moment both keep their earlier text, numbered apart."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    resident = Resident(email="a@example.fi", display_name="A", password_hash="x")
    db.add(resident)
    await db.commit()
    staff = await make_user(db, Role.STAFF)
    resident_id = resident.id
    draft = rounds.ProposalDraft({"fi": "Penkit"}, {"fi": "Kolme"}, kallio.id, 1000)
    ideas = [
        (await rounds.submit_proposal(db, round_, resident_id, draft, premoderation=False)).id
        for _ in range(4)
    ]

    async def withdraw(idea_id: int) -> str:
        async with database.sessionmaker() as session:
            proposal = await session.get(Proposal, idea_id)
            author = await session.get(Resident, resident_id)
            try:
                await own_ideas.withdraw_own_idea(session, proposal, author)
            except DomainError:
                return "refused"
            return "withdrawn"

    async def accept(idea_id: int) -> str:
        async with database.sessionmaker() as session:
            proposal = await session.get(Proposal, idea_id)
            try:
                await rounds.accept_proposal(session, proposal, 1000, staff)
            except DomainError:
                return "refused"
            return "accepted"

    for idea_id in ideas[:3]:
        outcomes = await asyncio.gather(withdraw(idea_id), accept(idea_id))
        status = await db.scalar(
            select(Proposal.status)
            .where(Proposal.id == idea_id)
            .execution_options(populate_existing=True)
        )
        assert sorted(outcomes) in (["refused", "withdrawn"], ["accepted", "refused"]), outcomes
        assert status == ("withdrawn" if "withdrawn" in outcomes else "accepted")

    async def author_edit() -> None:
        async with database.sessionmaker() as session:
            proposal = await session.get(Proposal, ideas[3])
            author = await session.get(Resident, resident_id)
            new_text = own_ideas.IdeaText("fi", "Penkit ja roskis", "Kolme ja yksi")
            await own_ideas.edit_own_idea(session, proposal, author, new_text, premoderation=False)

    async def staff_translation() -> None:
        async with database.sessionmaker() as session:
            proposal = await session.get(Proposal, ideas[3])
            decision = moderation.ModerationDecision(
                moderation.ModerationAction.EDIT_TEXT,
                title={"fi": "Penkit", "sv": "Bänkar"},
                description={"fi": "Kolme", "sv": "Tre"},
            )
            await moderation.moderate(session, proposal, decision, staff)

    await asyncio.gather(author_edit(), staff_translation())
    numbers = await db.scalars(
        select(ProposalVersion.number).where(ProposalVersion.proposal_id == ideas[3])
    )
    assert sorted(numbers) == [1, 2]


@pytest.mark.parametrize("confirm", ["", "off", "maybe", "<script>alert(1)</script>", "o" * 5000])
async def test_a_withdrawal_without_the_ticked_box_is_refused_and_changes_nothing(
    client, db, confirm
):
    round_, idea = await send_idea(client, db)
    response = await client.post(
        f"/pb/{round_.slug}/proposals/{idea.id}/withdraw", data=form(client, confirm=confirm)
    )
    assert response.status_code == 400
    assert "Tick the box to confirm that you withdraw the idea." in response.text
    assert "<script>alert(1)" not in response.text
    await db.refresh(idea)
    assert idea.status == "submitted"


async def test_editing_withdrawing_and_the_gaps_work_on_the_embedded_sqlite_too(tmp_path):
    """The default SQLite database, migrated by the same Alembic history (the migration fills
    the language of an idea written in one language): the same services, the same outcomes."""
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'ideas.sqlite3'}")
    async with sqlite.engine.begin() as connection:
        await upgrade_to_head(connection)
    try:
        async with sqlite.sessionmaker() as session:
            round_ = await make_round(session, "ideas", {None: 100_000})
            resident = Resident(email="a@example.fi", display_name="A", password_hash="x")
            session.add(resident)
            await session.commit()
            draft = rounds.ProposalDraft({"fi": "Penkit"}, {"fi": "Kolme"}, None, 1000)
            kept = await rounds.submit_proposal(session, round_, resident.id, draft)
            gone = await rounds.submit_proposal(session, round_, resident.id, draft)
            new_text = own_ideas.IdeaText("sv", "Bänkar", "Tre bänkar")
            await own_ideas.edit_own_idea(session, kept, resident, new_text)
            await own_ideas.withdraw_own_idea(session, gone, resident)
            listed = await rounds.list_proposals(session, round_.id)
            assert [(p.id, p.title, p.language) for p in listed] == [
                (kept.id, {"sv": "Bänkar"}, "sv")
            ]
            [version] = await session.scalars(select(ProposalVersion))
            assert (version.number, version.title, version.by_author) == (1, {"fi": "Penkit"}, True)
            kept.status = "accepted"
            await session.commit()
            [gap] = await translation_gaps(session, round_.id)
            assert (gap.required, gap.optional) == (("fi",), ("en",))
    finally:
        await sqlite.dispose()


async def test_the_migration_gives_an_idea_written_in_one_language_that_language(tmp_path):
    """Ideas stored before pb_proposal.language (on SQLite, migrated up to the revision before):
    one language in the title is the idea's own; a title in several is left unknown."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'migration.sqlite3'}")

    def upgrade(revision: str):
        def run(sync_connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_connection
            command.upgrade(config, revision)

        return run

    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(upgrade("e8b1c4d7a923"))
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO pb_round (id, slug, title, description, ideas_open_at, review_at,"
                    " voting_open_at, voting_close_at, results_at, min_age, ballot_rule,"
                    " official_rule, source, created_at) VALUES (1, 'r', '{}', '{}', :t, :t, :t,"
                    " :t, :t, 0, 'approval', 'greedy', 'tori', :t)"
                ),
                {"t": utcnow().isoformat()},
            )
            for number, title in enumerate(('{"sv": "Bänkar"}', '{"fi": "A", "sv": "B"}')):
                await connection.execute(
                    text(
                        "INSERT INTO pb_proposal (id, round_id, title, description,"
                        " estimated_cost, status, reason, implementation_note, created_at)"
                        " VALUES (:id, 1, :title, '{}', 100, 'submitted', '{}', '{}', :t)"
                    ),
                    {"id": number + 1, "title": title, "t": utcnow().isoformat()},
                )
        async with database.engine.begin() as connection:
            await connection.run_sync(upgrade("head"))
            rows = await connection.execute(
                text("SELECT id, language FROM pb_proposal ORDER BY id")
            )
            assert [tuple(row) for row in rows] == [(1, "sv"), (2, None)]
    finally:
        await database.dispose()

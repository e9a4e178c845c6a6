"""Review at scale on PostgreSQL (voting/review.py): the staff review list with search, filters,
sorting and paging; assigning ideas; internal notes that never leave the staff pages; one
decision for many ideas in one transaction; the needs-attention overview's paper slips and mail.
Every form tried empty, oversized, malformed and hostile."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditRecord
from app.database import utcnow
from app.mail.models import FAILED, PENDING, SENT, OutboxMessage
from tests.conftest import csrf_token
from tests.factories import make_area, make_user, signed_in_as
from tests.voting.factories import add_proposal, make_round
from tests.voting.test_pb_rounds import form
from voting import review
from voting.models import PaperEntry, Proposal, ProposalNote

SECRET_NOTE = "Soitin tekijälle 040 765 4321, hän toivoo nimettömyyttä"


async def proposal_actions(db) -> list[str]:
    return list(
        await db.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.action.like("proposal.%"))
            .order_by(AuditRecord.seq)
        )
    )


async def round_with_ideas(db, count: int = 6, status: str = "submitted"):
    kallio, vallila = await make_area(db, "Kallio"), await make_area(db, "Vallila")
    round_ = await make_round(db, "review", {kallio.id: 100_000, vallila.id: 50_000, None: 200_000})
    ideas = []
    for number in range(count):
        area = kallio if number % 2 == 0 else vallila
        ideas.append(
            await add_proposal(db, round_, area, f"Idea {number:02d} puisto", 1000 + number, status)
        )
    return round_, (kallio, vallila), ideas


def idea_titles(page: str) -> list[str]:
    return re.findall(r'id="idea-title-\d+"[^>]*>([^<]+)</a>', page)


# --- the list ------------------------------------------------------------------------------------


async def test_the_list_searches_filters_and_sorts(client, db):
    round_, (kallio, _vallila), ideas = await round_with_ideas(db)
    ideas[3].title = {"fi": "Koirapuisto Vallilaan"}
    ideas[4].channel = "paper"
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    base = f"/staff/pb/{round_.id}/ideas"
    page = await client.get(base)
    assert page.status_code == 200
    assert len(idea_titles(page.text)) == 6
    assert idea_titles((await client.get(f"{base}?q=koirap")).text) == ["Koirapuisto Vallilaan"]
    kallio_only = idea_titles((await client.get(f"{base}?area={kallio.id}")).text)
    assert sorted(kallio_only) == ["Idea 00 puisto", "Idea 02 puisto", "Idea 04 puisto"]
    assert idea_titles((await client.get(f"{base}?channel=paper")).text) == ["Idea 04 puisto"]
    assert idea_titles((await client.get(f"{base}?status=accepted")).text) == []
    cheap_first = idea_titles((await client.get(f"{base}?sort=cost_low")).text)
    assert cheap_first[0] == "Idea 00 puisto"
    assert idea_titles((await client.get(f"{base}?sort=cost_high")).text)[0] == "Idea 05 puisto"
    assert idea_titles((await client.get(f"{base}?area=city")).text) == []


async def test_pages_with_equal_times_show_every_idea_once(db):
    round_, _areas, ideas = await round_with_ideas(db, count=7)
    same = utcnow().replace(microsecond=0)
    for idea in ideas:
        idea.created_at = same
    await db.commit()
    seen = []
    for sort in review.SORTS:
        seen = []
        for page in (1, 2, 3):
            listing = await review.review_list(
                db, round_.id, review.ReviewFilters(sort=sort, page=page), per_page=3
            )
            seen += [item.proposal.id for item in listing.items]
        assert sorted(seen) == sorted(idea.id for idea in ideas), sort
    assert listing.pages == 3


async def test_the_attention_filter_shows_ideas_waiting_for_a_check(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=3)
    ideas[1].moderation = "pending"
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/pb/{round_.id}/ideas?attention=on")
    assert idea_titles(page.text) == ["Idea 01 puisto"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("q=" + "a" * 201, "Use at most 200 characters."),
        ("q=%26%7C%21%3A%2A%28%29%27%5C", "Search with letters or digits."),
        ("q=%25", "Search with letters or digits."),
        ("q=puisto%00", "Remove the special control characters from this field."),
        ("status=' OR 1=1 --", "Choose one of the options."),
        ("area=1 OR 1=1", "Choose one of the options."),
        ("reviewer=99999", "Choose one of the options."),
        ("department=<script>", "Choose one of the options."),
        ("sort=id; DROP TABLE pb_proposal", "Choose one of the options."),
    ],
)
async def test_bad_filters_say_so_and_show_the_list_unfiltered(client, db, query, message):
    round_, _areas, _ideas = await round_with_ideas(db, count=2)
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/pb/{round_.id}/ideas?{query}")
    assert page.status_code == 400
    assert message in page.text
    assert "<script>" not in page.text
    assert len(idea_titles(page.text)) == 2
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 2


async def test_a_malformed_page_number_shows_the_first_page(client, db):
    round_, _areas, _ideas = await round_with_ideas(db, count=2)
    await signed_in_as(client, db, Role.STAFF)
    for page in ("abc", "-1", "٧", "99999999999999999999"):
        response = await client.get(f"/staff/pb/{round_.id}/ideas?page={page}")
        assert response.status_code == 200
        assert len(idea_titles(response.text)) == 2


async def test_the_list_is_for_staff_only(client, db):
    round_, _areas, _ideas = await round_with_ideas(db, count=1)
    response = await client.get(f"/staff/pb/{round_.id}/ideas")
    assert response.status_code in (302, 303, 401, 403)
    assert "Idea 00" not in response.text


# --- assignment ----------------------------------------------------------------------------------


async def test_assigning_a_department_and_a_reviewer_is_audited(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=2)
    staff = await signed_in_as(client, db, Role.STAFF)
    colleague = await make_user(db, Role.STAFF)
    url = f"/staff/pb/{round_.id}/proposals/{ideas[0].id}/assignment"
    done = await client.post(
        url, data=form(client, department="Kaupunkiympäristö", reviewer=str(colleague.id))
    )
    assert done.status_code == 303
    await db.refresh(ideas[0])
    assert (ideas[0].department, ideas[0].reviewer_id) == ("Kaupunkiympäristö", colleague.id)
    assert await proposal_actions(db) == ["proposal.assign"]
    listing = await client.get(f"/staff/pb/{round_.id}/ideas?department=Kaupunkiympäristö")
    assert idea_titles(listing.text) == ["Idea 00 puisto"]
    mine = await client.get(f"/staff/pb/{round_.id}/ideas?reviewer=me")
    assert idea_titles(mine.text) == []
    theirs = await client.get(f"/staff/pb/{round_.id}/ideas?reviewer={colleague.id}")
    assert idea_titles(theirs.text) == ["Idea 00 puisto"]
    nobody = await client.get(f"/staff/pb/{round_.id}/ideas?reviewer=none")
    assert idea_titles(nobody.text) == ["Idea 01 puisto"]
    assert staff.id != colleague.id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"department": "x" * 121}, "Use at most 120 characters."),
        ({"department": "Osasto\x00"}, "Remove the special control characters from this field."),
        ({"department": "Osasto\nkaksi"}, "Remove the special control characters from this field."),
        ({"reviewer": "1 OR 1=1"}, "Choose one of the options."),
        ({"reviewer": "99999"}, "Choose one of the options."),
    ],
)
async def test_bad_assignments_are_refused_and_store_nothing(client, db, fields, message):
    round_, _areas, ideas = await round_with_ideas(db, count=1)
    await signed_in_as(client, db, Role.STAFF)
    url = f"/staff/pb/{round_.id}/proposals/{ideas[0].id}/assignment"
    response = await client.post(url, data=form(client, **fields))
    assert response.status_code == 400
    assert message in response.text
    await db.refresh(ideas[0])
    assert (ideas[0].department, ideas[0].reviewer_id) == (None, None)
    assert await proposal_actions(db) == []


async def test_an_auditor_cannot_be_made_a_reviewer(db):
    _round, _areas, ideas = await round_with_ideas(db, count=1)
    auditor = await make_user(db, Role.AUDITOR)
    with pytest.raises(review.DomainError):
        await review.assign(db, ideas[0], None, auditor.id, None)


# --- internal notes ------------------------------------------------------------------------------


async def test_a_note_is_shown_to_staff_and_audited_without_its_text(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=1)
    await signed_in_as(client, db, Role.STAFF)
    url = f"/staff/pb/{round_.id}/proposals/{ideas[0].id}"
    done = await client.post(f"{url}/notes", data=form(client, note=SECRET_NOTE))
    assert done.status_code == 303
    page = await client.get(url)
    assert SECRET_NOTE in page.text
    records = list(
        await db.scalars(select(AuditRecord).where(AuditRecord.action == "proposal.note"))
    )
    assert len(records) == 1
    assert "040" not in str(records[0].after)
    await client.post("/staff/logout", data=form(client))
    client.cookies.clear()
    await signed_in_as(client, db, Role.ADMIN)
    log = await client.get("/staff/audit")
    assert "Internal note added to an idea" in log.text
    assert "040 765" not in log.text


async def test_a_note_never_reaches_a_public_page(client, db):
    """The attack: a note written on a published idea, then every public page and listing of the
    round read by an anonymous visitor, in every language."""
    round_, _areas, ideas = await round_with_ideas(db, count=1)
    db.add(ProposalNote(proposal_id=ideas[0].id, text=SECRET_NOTE))
    await db.commit()
    for language in ("fi", "sv", "en"):
        for path in (
            f"/pb/{round_.slug}?lang={language}",
            f"/pb/{round_.slug}/proposals?lang={language}",
            f"/pb/{round_.slug}/proposals/{ideas[0].id}?lang={language}",
        ):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "Idea 00 puisto" in response.text or path.endswith(f"?lang={language}")
            assert "040 765" not in response.text, path


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("", "This field is required."),
        ("   \n  ", "This field is required."),
        ("x" * 4001, "Use at most 4000 characters."),
        ("huomio\x07", "Remove the special control characters from this field."),
    ],
)
async def test_bad_notes_are_refused_and_store_nothing(client, db, note, message):
    round_, _areas, ideas = await round_with_ideas(db, count=1)
    await signed_in_as(client, db, Role.STAFF)
    url = f"/staff/pb/{round_.id}/proposals/{ideas[0].id}/notes"
    response = await client.post(url, data=form(client, note=note))
    assert response.status_code == 400
    assert message in response.text
    assert await db.scalar(select(func.count()).select_from(ProposalNote)) == 0


async def test_a_hostile_note_is_escaped(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=1)
    await signed_in_as(client, db, Role.STAFF)
    url = f"/staff/pb/{round_.id}/proposals/{ideas[0].id}"
    hostile = '<script>alert("x")</script> \' OR 1=1 -- &|!:*()'
    assert (await client.post(f"{url}/notes", data=form(client, note=hostile))).status_code == 303
    page = await client.get(url)
    assert "&lt;script&gt;alert" in page.text
    assert '<script>alert("x")' not in page.text


# --- bulk decisions ------------------------------------------------------------------------------


async def test_bulk_reject_without_a_reason_stores_nothing_then_with_one_rejects_all(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=4)
    await signed_in_as(client, db, Role.STAFF)
    chosen = [str(idea.id) for idea in ideas[:3]]
    url = f"/staff/pb/{round_.id}/ideas/bulk?q=puisto&sort=oldest"
    mistake = await client.post(url, data=form(client, idea=chosen, action="reject"))
    assert mistake.status_code == 400
    assert "Give this in at least one language." in mistake.text
    # The ticks survive the mistake, so the fix is one more field.
    assert mistake.text.count(" checked aria-labelledby") == 3
    assert await proposal_actions(db) == []
    assert {p.status for p in await db.scalars(select(Proposal))} == {"submitted"}
    fixed = await client.post(
        url,
        data=form(client, idea=chosen, action="reject", reason_fi="Ei kaupungin tontilla."),
    )
    assert fixed.status_code == 303
    assert fixed.headers["location"].startswith(f"/staff/pb/{round_.id}/ideas?q=puisto&sort=oldest")
    assert "done=reject&count=3" in fixed.headers["location"]
    db.expire_all()
    statuses = {p.id: (p.status, p.reason) for p in await db.scalars(select(Proposal))}
    for idea in ideas[:3]:
        assert statuses[idea.id] == ("rejected", {"fi": "Ei kaupungin tontilla."})
    assert statuses[ideas[3].id][0] == "submitted"
    assert await proposal_actions(db) == ["proposal.reject"] * 3
    notice = await client.get(fixed.headers["location"])
    assert "3 ideas were rejected." in notice.text


async def test_one_idea_that_cannot_be_accepted_stops_the_whole_bulk_decision(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=3)
    ideas[2].moderation = "hidden"
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/ideas/bulk",
        data=form(client, idea=[str(i.id) for i in ideas], action="accept"),
    )
    assert response.status_code == 400
    assert "Nothing was changed." in response.text
    assert "Idea 02 puisto" in response.text
    db.expire_all()
    assert {p.status for p in await db.scalars(select(Proposal))} == {"submitted"}
    assert await proposal_actions(db) == []


async def test_bulk_merge_into_a_proposal_by_its_number(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=3)
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/ideas/bulk",
        data=form(
            client,
            idea=[str(ideas[0].id), str(ideas[1].id)],
            action="merge",
            merge_into=f"#{ideas[2].id}",
        ),
    )
    assert response.status_code == 303
    db.expire_all()
    merged = {p.id: (p.status, p.merged_into_id) for p in await db.scalars(select(Proposal))}
    assert merged[ideas[0].id] == ("merged", ideas[2].id)
    assert merged[ideas[1].id] == ("merged", ideas[2].id)
    assert await proposal_actions(db) == ["proposal.merge"] * 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "reject", "reason_fi": "x"}, "Tick at least one idea in the list."),
        (
            {"idea": ["1 OR 1=1"], "action": "reject", "reason_fi": "x"},
            "Choose ideas of this round",
        ),
        (
            {"idea": [str(n) for n in range(1, 60)], "action": "accept"},
            "Choose ideas of this round",
        ),
        ({"idea": ["1"], "action": ""}, "Choose one of the options."),
        ({"idea": ["1"], "action": "delete"}, "Choose one of the options."),
        (
            {"idea": ["1"], "action": "reject", "reason_fi": "x" * 1001},
            "Use at most 1000 characters.",
        ),
        (
            {"idea": ["1"], "action": "merge", "merge_into": "abc"},
            "Give the number of the proposal",
        ),
        ({"idea": ["1"], "action": "merge", "merge_into": "1"}, "Choose another proposal"),
        ({"idea": ["999"], "action": "reject", "reason_fi": "x"}, "Choose ideas of this round"),
    ],
)
async def test_bad_bulk_decisions_are_refused_and_store_nothing(client, db, fields, message):
    round_, _areas, _ideas = await round_with_ideas(db, count=2)
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(f"/staff/pb/{round_.id}/ideas/bulk", data=form(client, **fields))
    assert response.status_code == 400
    assert message in response.text
    db.expire_all()
    assert {p.status for p in await db.scalars(select(Proposal))} == {"submitted"}
    assert await proposal_actions(db) == []


async def test_ideas_of_another_round_cannot_be_decided_through_this_one(client, db):
    round_, areas, _ideas = await round_with_ideas(db, count=1)
    other = await make_round(db, "review", {areas[0].id: 10_000})
    foreign = await add_proposal(db, other, areas[0], "Toisen kierroksen idea", 500, "submitted")
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/ideas/bulk",
        data=form(client, idea=[str(foreign.id)], action="reject", reason_fi="x"),
    )
    assert response.status_code == 400
    await db.refresh(foreign)
    assert foreign.status == "submitted"


async def test_bulk_decisions_need_the_csrf_token_and_an_editor(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=1)
    await signed_in_as(client, db, Role.AUDITOR)
    fields = {"idea": [str(ideas[0].id)], "action": "reject", "reason_fi": "x"}
    as_auditor = await client.post(f"/staff/pb/{round_.id}/ideas/bulk", data=form(client, **fields))
    assert as_auditor.status_code == 403
    await client.post("/staff/logout", data=form(client))
    client.cookies.clear()
    await signed_in_as(client, db, Role.STAFF)
    await csrf_token(client)
    no_token = await client.post(f"/staff/pb/{round_.id}/ideas/bulk", data=fields)
    assert no_token.status_code == 403
    for path in ("assignment", "notes"):
        refused = await client.post(
            f"/staff/pb/{round_.id}/proposals/{ideas[0].id}/{path}",
            data={"note": "x", "department": "x"},
        )
        assert refused.status_code == 403
    await db.refresh(ideas[0])
    assert ideas[0].status == "submitted"
    assert await proposal_actions(db) == []


# --- the needs-attention overview ----------------------------------------------------------------


async def test_attention_lists_flagged_slips_and_undelivered_mail(client, db):
    round_, _areas, _ideas = await round_with_ideas(db, count=1)
    db.add(PaperEntry(round_id=round_.id, slip="P-17", status="flagged"))
    db.add(PaperEntry(round_id=round_.id, slip="P-17", status="flagged"))
    db.add(PaperEntry(round_id=round_.id, slip="P-18", status="joined"))
    now = utcnow()
    for number, (status, attempts) in enumerate(
        [(FAILED, 8), (PENDING, 2), (PENDING, 0), (SENT, 1)]
    ):
        db.add(
            OutboxMessage(
                message_id=f"<{number}@tori.test>",
                recipient=f"person{number}@example.fi",
                template="idea_received",
                language="fi",
                context={},
                status=status,
                attempts=attempts,
                next_attempt_at=now,
                last_error="550 mailbox unavailable" if attempts else None,
                created_at=now - dt.timedelta(minutes=10 - number),
            )
        )
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/pb/attention")
    assert page.status_code == 200
    assert "P-17" in page.text
    assert "P-18" not in page.text
    assert "person0@example.fi" in page.text  # given up
    assert "person1@example.fi" in page.text  # failing, being retried
    assert "person2@example.fi" not in page.text  # not yet tried
    assert "person3@example.fi" not in page.text  # delivered
    assert "550 mailbox unavailable" in page.text


async def test_attention_lists_are_paged(client, db):
    round_, _areas, _ideas = await round_with_ideas(db, count=1)
    for number in range(25):
        db.add(PaperEntry(round_id=round_.id, slip=f"S-{number:02d}", status="flagged"))
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    first = await client.get("/staff/pb/attention")
    second = await client.get("/staff/pb/attention?slips_page=2")
    slips = lambda page: set(re.findall(r">(S-\d\d)<", page))  # noqa: E731
    assert len(slips(first.text)) == 20
    assert len(slips(second.text)) == 5
    assert not slips(first.text) & slips(second.text)
    bad = await client.get("/staff/pb/attention?slips_page=x&mail_page=-3")
    assert bad.status_code == 200


async def test_withdrawn_ideas_are_listed_only_when_asked_for(client, db):
    round_, _areas, ideas = await round_with_ideas(db, count=2)
    ideas[1].status = "withdrawn"
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    everyday = await client.get(f"/staff/pb/{round_.id}/ideas")
    assert idea_titles(everyday.text) == ["Idea 00 puisto"]
    asked = await client.get(f"/staff/pb/{round_.id}/ideas?status=withdrawn")
    assert idea_titles(asked.text) == ["Idea 01 puisto"]

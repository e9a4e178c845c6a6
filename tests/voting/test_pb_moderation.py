"""Moderation of ideas on PostgreSQL: pre-moderation, reports by anyone, staff hiding an idea
with a public reason or removing personal data from its text, and the needs-attention list.

The abusive idea of the bug report: a title with a person's name, a phone number and an insult
was public at once as "waiting for review", and rejecting it left it public."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditRecord
from app.settings import Settings
from tests.app.test_html_validity import check_html
from tests.conftest import csrf_token
from tests.factories import make_area, make_event, make_user, signed_in_as
from tests.voting.factories import add_proposal, make_round, move_to
from tests.voting.test_pb_rounds import form, register_and_sign_in
from voting import moderation, rounds
from voting.models import Proposal, ProposalReport, ProposalVersion

ABUSIVE_TITLE = "Matti Meikäläinen 040 123 4567 on idiootti"
ABUSIVE_TEXT = "Soittakaa Matille numeroon 040 123 4567 ja kertokaa mitä hänestä ajatellaan."


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def audit_actions(db) -> list[str]:
    """The moderation and review records (setting up areas and rounds records others)."""
    return list(
        await db.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.action.like("proposal.%"))
            .order_by(AuditRecord.seq)
        )
    )


def public_pages(round_, proposal) -> list[str]:
    return [
        f"/pb/{round_.slug}",
        f"/pb/{round_.slug}/proposals",
        f"/pb/{round_.slug}/proposals?status=submitted",
        f"/pb/{round_.slug}/proposals/{proposal.id}",
    ]


async def send_abusive_idea(client, db, caplog):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await register_and_sign_in(client, db)
    sent = await client.post(
        f"/pb/{round_.slug}/propose",
        data=form(
            client,
            language="fi",
            title=ABUSIVE_TITLE,
            description=ABUSIVE_TEXT,
            area=str(kallio.id),
            estimated_cost="1000",
        ),
    )
    assert sent.status_code == 303, sent.text
    return round_, await db.scalar(select(Proposal))


# --- pre-moderation --------------------------------------------------------------------------


async def test_a_new_idea_is_shown_to_nobody_but_its_author_until_checked(client, db, caplog):
    round_, proposal = await send_abusive_idea(client, db, caplog)
    assert proposal.moderation == "pending"
    own = await client.get(f"/pb/{round_.slug}/proposals/{proposal.id}")
    assert own.status_code == 200
    assert ABUSIVE_TITLE in own.text
    assert "Waiting for a check" in own.text
    assert "Waiting for review" not in own.text
    account = await client.get("/account")
    assert "Waiting for a check" in account.text

    client.cookies.clear()
    for path in public_pages(round_, proposal):
        page = await client.get(path)
        assert "040 123 4567" not in page.text, path
        assert "Meikäläinen" not in page.text, path
    assert (await client.get(f"/pb/{round_.slug}/proposals/{proposal.id}")).status_code == 404
    listing = await client.get(f"/pb/{round_.slug}/proposals?lang=en")
    assert "0 proposals" in listing.text


async def test_rejecting_an_unchecked_idea_publishes_its_reason_never_its_text(client, db, caplog):
    round_, proposal = await send_abusive_idea(client, db, caplog)
    await move_to(db, round_, "review")
    client.cookies.clear()
    await signed_in_as(client, db, Role.STAFF)
    rejected = await client.post(
        f"/staff/pb/{round_.id}/proposals/{proposal.id}",
        data=form(client, action="reject", reason_en="It insults a named person."),
    )
    assert rejected.status_code == 303
    await db.refresh(proposal)
    assert (proposal.status, proposal.moderation) == ("rejected", "hidden")

    client.cookies.clear()
    page = await client.get(f"/pb/{round_.slug}/proposals/{proposal.id}?lang=en")
    assert page.status_code == 200
    assert "It insults a named person." in page.text
    assert "Idea hidden by the moderators" in page.text
    assert "Not on the ballot" in page.text
    for path in public_pages(round_, proposal):
        shown = await client.get(path)
        assert "040 123 4567" not in shown.text, path
        assert "Meikäläinen" not in shown.text, path
    listing = await client.get(f"/pb/{round_.slug}/proposals?status=rejected")
    assert "It insults a named person." in listing.text


async def test_without_premoderation_a_new_idea_is_public_at_once(db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    draft = rounds.ProposalDraft({"en": "Benches"}, {"en": "More"}, kallio.id, 1000)
    open_idea = await rounds.submit_proposal(db, round_, None, draft, premoderation=False)
    checked_idea = await rounds.submit_proposal(db, round_, None, draft)
    assert (open_idea.moderation, checked_idea.moderation) == ("published", "pending")
    listed = await rounds.list_proposals(db, round_.id, public=True)
    assert [p.id for p in listed] == [open_idea.id]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("", True), ("1", True), ("0", False), ("off", False), ("false", False)],
)
def test_premoderation_is_on_unless_switched_off(value, expected):
    environment = {} if value is None else {"TORI_PREMODERATION": value}
    assert Settings.from_environment(environment).premoderation is expected


async def test_accepting_an_unchecked_idea_publishes_it_and_a_hidden_one_cannot_be_accepted(db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    pending = await add_proposal(
        db, round_, kallio, "Benches", 1000, "submitted", moderation="pending"
    )
    hidden = await add_proposal(db, round_, kallio, "Rude", 1000, "submitted", moderation="hidden")
    await rounds.accept_proposal(db, pending, 1000)
    assert (pending.status, pending.moderation) == ("accepted", "published")
    with pytest.raises(rounds.DomainError):
        await rounds.accept_proposal(db, hidden, 1000)
    await db.rollback()
    await db.refresh(hidden)
    assert hidden.status == "submitted"


# --- reports ---------------------------------------------------------------------------------


async def test_anyone_can_report_a_public_idea_and_staff_see_it(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Benches for Matti", 1000, "submitted")
    quiet = await add_proposal(db, round_, kallio, "Quiet idea", 1000, "submitted")
    page = await client.get(f"/pb/{round_.slug}/proposals/{idea.id}?lang=en")
    assert "Report this idea" in page.text
    # The reason is required, and the form says so before it is sent (found on a tour).
    assert re.search(r'What is wrong with it\? <span class="required">\(required\)', page.text)
    assert 'id="field-reason" name="reason" rows="3" aria-required="true"' in page.text
    hostile = '<script>alert("x")</script> names a neighbour'
    sent = await client.post(
        f"/pb/{round_.slug}/proposals/{idea.id}/report", data=form(client, reason=hostile)
    )
    assert sent.status_code == 303
    assert sent.headers["location"].endswith(f"/proposals/{idea.id}?reported=1")
    thanks = await client.get(sent.headers["location"])
    assert "Your report was sent to the moderators." in thanks.text
    [report] = await db.scalars(select(ProposalReport))
    assert (report.proposal_id, report.reason, report.handled_at) == (idea.id, hostile, None)

    await signed_in_as(client, db, Role.STAFF)
    attention = await client.get("/staff/pb/attention")
    assert attention.status_code == 200
    assert "Benches for Matti" in attention.text
    assert "Quiet idea" not in attention.text
    staff_page = await client.get(f"/staff/pb/{round_.id}/proposals/{idea.id}")
    assert "&lt;script&gt;alert" in staff_page.text
    assert '<script>alert("x")' not in staff_page.text
    assert quiet.id != idea.id


@pytest.mark.parametrize(
    ("reason", "status"),
    [("", 400), ("   ", 400), ("x" * 1001, 400), ("bell\x07", 400)],
)
async def test_bad_reports_are_refused_and_store_nothing(client, db, reason, status):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Benches", 1000, "submitted")
    await client.get(f"/pb/{round_.slug}/proposals/{idea.id}?lang=en")
    response = await client.post(
        f"/pb/{round_.slug}/proposals/{idea.id}/report", data=form(client, reason=reason)
    )
    assert response.status_code == status
    assert "error-summary" in response.text
    assert '<details class="report" open>' in response.text
    assert await count(db, ProposalReport) == 0


async def test_reports_need_the_csrf_token_and_a_public_idea(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    pending = await add_proposal(db, round_, kallio, "New", 1000, "submitted", moderation="pending")
    hidden = await add_proposal(db, round_, kallio, "Gone", 1000, "submitted", moderation="hidden")
    public = await add_proposal(db, round_, kallio, "Benches", 1000, "submitted")
    await client.get(f"/pb/{round_.slug}/proposals/{public.id}")
    base = f"/pb/{round_.slug}/proposals"
    no_token = await client.post(f"{base}/{public.id}/report", data={"reason": "rude"})
    assert no_token.status_code == 403
    for target in (pending.id, hidden.id, 999_999):
        refused = await client.post(f"{base}/{target}/report", data=form(client, reason="rude"))
        assert refused.status_code == 404, target
    assert await count(db, ProposalReport) == 0


async def test_reports_from_one_address_are_rate_limited(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Benches", 1000, "submitted")
    await client.get(f"/pb/{round_.slug}/proposals/{idea.id}?lang=en")
    url = f"/pb/{round_.slug}/proposals/{idea.id}/report"
    for _ in range(moderation.REPORTS_PER_ADDRESS.count):
        assert (await client.post(url, data=form(client, reason="rude"))).status_code == 303
    throttled = await client.post(url, data=form(client, reason="rude"))
    assert throttled.status_code == 429
    assert "many reports in a short time" in throttled.text
    assert await count(db, ProposalReport) == moderation.REPORTS_PER_ADDRESS.count


# --- staff decisions -------------------------------------------------------------------------


async def test_staff_hide_an_idea_with_a_public_reason_recorded_in_the_audit_log(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    idea = await add_proposal(
        db, round_, kallio, ABUSIVE_TITLE, 1000, "submitted", description=ABUSIVE_TEXT
    )
    db.add(ProposalReport(proposal_id=idea.id, reason="rude"))
    await db.commit()
    user = await signed_in_as(client, db, Role.STAFF)
    url = f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation"
    no_reason = await client.post(url, data=form(client, action="hide"))
    assert no_reason.status_code == 400
    assert "Give this in at least one language." in no_reason.text
    await db.refresh(idea)
    assert idea.moderation == "published"
    assert await audit_actions(db) == []

    hidden = await client.post(
        url,
        data=form(
            client,
            action="hide",
            hide_reason_en="It named a private person.",
            hide_reason_fi="Se nimesi yksityishenkilön.",
        ),
    )
    assert hidden.status_code == 303
    await db.refresh(idea)
    assert idea.moderation == "hidden"
    [report] = await db.scalars(select(ProposalReport))
    assert report.handled_at is not None
    assert report.handled_by == user.id
    [record] = await db.scalars(select(AuditRecord).where(AuditRecord.action.like("proposal.%")))
    assert (record.action, record.actor, record.target) == (
        "proposal.hide",
        user.email,
        f"proposal {idea.id}",
    )
    assert record.after["moderation_reason"]["en"] == "It named a private person."
    assert "040" not in record.record

    client.cookies.clear()
    for path in public_pages(round_, idea):
        page = await client.get(f"{path}{'&' if '?' in path else '?'}lang=en")
        assert page.status_code == 200, path
        assert "040 123 4567" not in page.text, path
    page = await client.get(f"/pb/{round_.slug}/proposals/{idea.id}?lang=en")
    assert "It named a private person." in page.text
    assert "Report this idea" not in page.text


async def test_an_idea_on_the_ballot_cannot_be_hidden(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Benches", 1000, "accepted")
    await signed_in_as(client, db, Role.STAFF)
    refused = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation",
        data=form(client, action="hide", hide_reason_en="No"),
    )
    assert refused.status_code == 400
    assert "cannot be hidden" in refused.text
    await db.refresh(idea)
    assert idea.moderation == "published"
    assert await audit_actions(db) == []


async def test_removing_personal_data_keeps_the_earlier_text_for_staff_only(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    idea = await add_proposal(
        db, round_, kallio, ABUSIVE_TITLE, 1000, "submitted", description=ABUSIVE_TEXT
    )
    await signed_in_as(client, db, Role.STAFF)
    url = f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation"
    for bad in (
        {"title_en": "", "title_fi": "", "description_en": "Fine"},
        {"title_en": "x" * 121, "description_en": "Fine"},
        {"title_en": "Fine", "description_en": "y" * 3001},
        {"title_en": "Fine\x00", "description_en": "Fine"},
    ):
        response = await client.post(url, data=form(client, action="edit_text", **bad))
        assert response.status_code == 400, bad
    assert await count(db, ProposalVersion) == 0

    hostile = '<img src=x onerror="alert(1)"> Puistonpenkit'
    edited = await client.post(
        url,
        data=form(
            client,
            action="edit_text",
            title_fi=hostile,
            description_en="Call the park office about benches.",
        ),
    )
    assert edited.status_code == 303
    await db.refresh(idea)
    assert idea.title == {"fi": hostile}
    [version] = await db.scalars(select(ProposalVersion))
    assert (version.number, version.title["fi"]) == (1, ABUSIVE_TITLE)
    assert version.description["en"] == ABUSIVE_TEXT
    [record] = await db.scalars(select(AuditRecord).where(AuditRecord.action.like("proposal.%")))
    assert record.action == "proposal.edit_text"
    assert "040" not in record.record
    assert "Meikäläinen" not in record.record
    staff_page = await client.get(f"/staff/pb/{round_.id}/proposals/{idea.id}")
    assert "Version 1" in staff_page.text
    assert ABUSIVE_TITLE in staff_page.text

    client.cookies.clear()
    public = await client.get(f"/pb/{round_.slug}/proposals/{idea.id}?lang=fi")
    assert "&lt;img src=x" in public.text
    assert "<img src=x" not in public.text
    assert "040 123 4567" not in public.text
    unchanged = await client.get(f"/pb/{round_.slug}/proposals?lang=en")
    assert "Meikäläinen" not in unchanged.text


async def test_staff_publish_a_checked_idea_and_dismiss_reports(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    pending = await add_proposal(
        db, round_, kallio, "Swings", 1000, "submitted", moderation="pending"
    )
    reported = await add_proposal(db, round_, kallio, "Benches", 1000, "submitted")
    db.add(ProposalReport(proposal_id=reported.id, reason="spam?"))
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    nothing = await client.post(
        f"/staff/pb/{round_.id}/proposals/{pending.id}/moderation",
        data=form(client, action="dismiss_reports"),
    )
    assert nothing.status_code == 400
    for idea, action in ((pending, "publish"), (reported, "dismiss_reports")):
        done = await client.post(
            f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation",
            data=form(client, action=action),
        )
        assert done.status_code == 303
    assert await audit_actions(db) == ["proposal.publish", "proposal.dismiss_reports"]
    assert (await moderation.needs_attention(db)).total == 0
    client.cookies.clear()
    listing = await client.get(f"/pb/{round_.slug}/proposals")
    assert "Swings" in listing.text
    assert "Benches" in listing.text


async def test_moderation_is_for_staff_with_the_csrf_token(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Swings", 1000, "submitted", moderation="pending")
    url = f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation"
    await csrf_token(client)  # a CSRF cookie, as a browser has after any form page
    anonymous = await client.post(url, data=form(client, action="publish"))
    assert anonymous.status_code in (401, 303)
    assert (await client.get("/staff/pb/attention")).status_code in (401, 303)
    auditor = await make_user(db, Role.AUDITOR, email="auditor@example.fi")
    from tests.factories import sign_in

    await sign_in(client, auditor)
    assert (await client.get("/staff/pb/attention")).status_code == 200
    refused = await client.post(url, data=form(client, action="publish"))
    assert refused.status_code == 403
    client.cookies.clear()
    await signed_in_as(client, db, Role.STAFF)
    no_token = await client.post(url, data={"action": "publish"})
    assert no_token.status_code == 403
    unknown = await client.post(url, data=form(client, action="delete_everything"))
    assert unknown.status_code == 400
    await db.refresh(idea)
    assert idea.moderation == "pending"
    assert await audit_actions(db) == []


# --- the needs-attention list ----------------------------------------------------------------


async def test_the_needs_attention_list_pages_waiting_and_reported_ideas_oldest_first(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    waiting = [
        await add_proposal(db, round_, kallio, f"Idea {n}", 1000, "submitted", moderation="pending")
        for n in range(30)
    ]
    reported = await add_proposal(db, round_, kallio, "Reported", 1000, "submitted")
    handled = await add_proposal(db, round_, kallio, "Handled", 1000, "submitted")
    await add_proposal(db, round_, kallio, "Quiet", 1000, "submitted")
    db.add_all(
        [
            ProposalReport(proposal_id=reported.id, reason="a"),
            ProposalReport(proposal_id=reported.id, reason="b"),
            ProposalReport(proposal_id=handled.id, reason="c", handled_at=round_.created_at),
        ]
    )
    await db.commit()
    first = await moderation.needs_attention(db, 1)
    second = await moderation.needs_attention(db, 2)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (31, 2, 25, 6)
    listed = [item.proposal.id for item in first.items + second.items]
    assert listed == [p.id for p in waiting] + [reported.id]
    assert second.items[-1].open_reports == 2
    assert (await moderation.needs_attention(db, 99)).page == 2

    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/pb/attention?page=2")
    assert "Reported" in page.text
    assert "Idea 0<" not in page.text
    assert "Page 2 of 2" in page.text
    for bad in ("0", "-1", "x", "9" * 30):
        assert (await client.get(f"/staff/pb/attention?page={bad}")).status_code == 200


# --- ideas entered by staff on a resident's behalf -------------------------------------------


def entered_fields(client, area_, **changes):
    return form(
        client,
        **{
            "channel": "town_hall",
            "language": "sv",
            "title": "Bänkar i parken",
            "description": "Från pappersblanketten.",
            "area": str(area_.id),
            "estimated_cost": "2 000",
            **changes,
        },
    )


async def test_staff_enter_an_idea_from_a_town_hall_meeting_with_its_channel_and_event(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    event = await make_event(db, area=kallio, starts_in=-dt.timedelta(days=1))
    user = await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/pb/{round_.id}/ideas/new")
    assert page.status_code == 200
    sent = await client.post(
        f"/staff/pb/{round_.id}/ideas/new", data=entered_fields(client, kallio, event=str(event.id))
    )
    assert sent.status_code == 303, sent.text
    proposal = await db.scalar(select(Proposal))
    assert (proposal.channel, proposal.event_id, proposal.entered_by) == (
        "town_hall",
        event.id,
        user.id,
    )
    assert (proposal.title, proposal.author_id, proposal.moderation) == (
        {"sv": "Bänkar i parken"},
        None,
        "published",
    )
    assert await audit_actions(db) == ["proposal.enter"]
    staff_page = await client.get(sent.headers["location"])
    assert "Town Hall meeting" in staff_page.text
    client.cookies.clear()
    public = await client.get(f"/pb/{round_.slug}/proposals?lang=en")
    assert "Bänkar i parken" in public.text


@pytest.mark.parametrize(
    "changes",
    [
        {"channel": ""},
        {"channel": "online"},
        {"channel": "<script>"},
        {"event": "999999"},
        {"event": "abc"},
        {"title": ""},
        {"title": "x" * 121},
        {"description": "y" * 3001},
        {"estimated_cost": "lots"},
        {"area": "999"},
    ],
)
async def test_bad_entered_ideas_are_refused_and_store_nothing(client, db, changes):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/ideas/new", data=entered_fields(client, kallio, **changes)
    )
    assert response.status_code == 400
    assert "error-summary" in response.text
    assert "<script>" not in response.text
    assert await count(db, Proposal) == 0
    assert await audit_actions(db) == []


async def test_ideas_cannot_be_entered_once_the_ballot_is_fixed(db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    user = await make_user(db, Role.STAFF)
    draft = rounds.ProposalDraft({"en": "Late"}, {"en": "Too late"}, kallio.id, 1000)
    with pytest.raises(rounds.DomainError):
        await rounds.enter_proposal(db, round_, draft, "paper", None, user)
    with pytest.raises(rounds.DomainError):
        await rounds.enter_proposal(db, round_, draft, "online", None, user)
    assert await count(db, Proposal) == 0


async def test_the_moderation_pages_in_every_state_are_valid_html(client, db, tmp_path):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await make_event(db, area=kallio, starts_in=-dt.timedelta(days=1))
    hidden = await add_proposal(db, round_, kallio, "Rude", 1000, "submitted")
    reported = await add_proposal(db, round_, kallio, "Benches", 1000, "submitted")
    await add_proposal(db, round_, kallio, "New", 1000, "submitted", moderation="pending")
    db.add(ProposalReport(proposal_id=reported.id, reason="<b>rude</b>"))
    await db.commit()
    user = await make_user(db, Role.STAFF)
    await moderation.moderate(
        db,
        hidden,
        moderation.ModerationDecision(moderation.ModerationAction.HIDE, reason={"fi": "Syy"}),
        user,
    )
    await moderation.moderate(
        db,
        reported,
        moderation.ModerationDecision(
            moderation.ModerationAction.EDIT_TEXT, title={"fi": "Penkit"}, description={"fi": "A"}
        ),
        user,
    )
    pages = {}
    for language in ("fi", "sv", "en"):
        await client.get(f"/?lang={language}")
        for path in (
            f"/pb/{round_.slug}/proposals",
            f"/pb/{round_.slug}/proposals/{hidden.id}",
        ):
            pages[f"{language}{path}"] = (await client.get(path)).text
        pages[f"{language}-report-error"] = (
            await client.post(
                f"/pb/{round_.slug}/proposals/{reported.id}/report", data=form(client, reason="")
            )
        ).text
    await signed_in_as(client, db, Role.STAFF)
    for path in (
        "/staff/pb/attention",
        f"/staff/pb/{round_.id}",
        f"/staff/pb/{round_.id}/proposals/{hidden.id}",
        f"/staff/pb/{round_.id}/proposals/{reported.id}",
        f"/staff/pb/{round_.id}/ideas/new",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.text
    pages["hide-error"] = (
        await client.post(
            f"/staff/pb/{round_.id}/proposals/{reported.id}/moderation",
            data=form(client, action="hide"),
        )
    ).text
    pages["enter-error"] = (
        await client.post(f"/staff/pb/{round_.id}/ideas/new", data=form(client, channel="x"))
    ).text
    files = []
    for number, (label, text) in enumerate(pages.items()):
        assert "<!doctype html>" in text.lower()[:20], label
        path = tmp_path / f"page{number}.html"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    assert check_html(files) == []


async def test_a_withdrawn_idea_cannot_be_reported(client, db):
    """Found by attack: a withdrawn idea's page answers 404 to the public, but a report of it
    was taken (303, stored): the difference told anyone which numbers were withdrawn ideas,
    and the report went to no one (withdrawn ideas leave the staff's list)."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    withdrawn = await add_proposal(db, round_, kallio, "Taken back", 1000, "withdrawn")
    base = f"/pb/{round_.slug}/proposals/{withdrawn.id}"
    assert (await client.get(base)).status_code == 404
    refused = await client.post(f"{base}/report", data=form(client, reason="rude"))
    assert refused.status_code == 404
    assert await count(db, ProposalReport) == 0

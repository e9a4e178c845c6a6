"""Proposals in every language (issue #16, item 5), on PostgreSQL: staff edit and translate an
idea's title and description with a version history and the staff audit log; voting does not
open while a proposal on the ballot lacks Finnish or Swedish text; the ballot, the proposal
pages and the review show each proposal in the voter's language, and a text in another
language carries its `lang`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditRecord
from app.database import utcnow
from app.i18n import localized, localized_language
from tests.app.test_html_validity import check_html
from tests.factories import make_area, signed_in_as
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    draft_in_phase,
    letter_codes,
    make_round,
    move_to,
    put_on_roll,
    sign_in_to_vote,
)
from tests.voting.test_pb_rounds import form
from voting import moderation, rounds
from voting.models import Proposal, ProposalVersion, RollEntry
from voting.translations import OPENING_REFUSED, missing_languages, translation_gaps


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def untranslated_idea(db, phase="review", status="accepted"):
    """A round with one proposal written in Finnish only, as a resident sent it."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, phase, {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Puistonpenkit", 5000, status)
    idea.title = {"fi": "Puistonpenkit"}
    idea.description = {"fi": "Kolme penkkiä leikkipuistoon."}
    await db.commit()
    return round_, kallio, idea


def translation(client, **changes):
    return form(
        client,
        **{
            "action": "edit_text",
            "title_fi": "Puistonpenkit",
            "title_sv": "Parkbänkar",
            "description_fi": "Kolme penkkiä leikkipuistoon.",
            "description_sv": "Tre bänkar i lekparken.",
            **changes,
        },
    )


def test_missing_languages_count_a_description_only_when_there_is_one():
    assert missing_languages({"fi": "A", "sv": "B"}, {}) == ("en",)
    assert missing_languages({"fi": "A", "sv": "B"}, {"fi": "C"}) == ("sv", "en")
    assert missing_languages({"fi": "A", "sv": "", "en": "E"}, {}) == ("sv",)
    assert missing_languages({}, {}) == ("fi", "sv", "en")


def test_a_missing_language_falls_back_to_the_idea_s_own_language_first():
    title = {"fi": "Keinut", "sv": "Gungor"}
    assert (localized(title, "en"), localized_language(title, "en")) == ("Keinut", "fi")
    assert localized(title, "en", original="sv") == "Gungor"
    assert localized_language(title, "en", original="sv") == "sv"
    assert localized(title, "fi", original="sv") == "Keinut"
    assert localized({"en": "Swings"}, "sv", original="fi") == "Swings"
    assert localized(title, "en", original=None) == "Keinut"


async def test_staff_translate_an_idea_with_its_history_and_an_audit_record(client, db):
    round_, _, idea = await untranslated_idea(db, status="submitted")
    user = await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/pb/{round_.id}/proposals/{idea.id}")
    assert "Text and translations" in page.text
    assert re.search(r"Missing:\s*Swedish \(needed before voting opens\),\s*English", page.text)

    saved = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation", data=translation(client)
    )
    assert saved.status_code == 303
    await db.refresh(idea)
    assert idea.title == {"fi": "Puistonpenkit", "sv": "Parkbänkar"}
    assert idea.description["sv"] == "Tre bänkar i lekparken."
    [version] = await db.scalars(select(ProposalVersion))
    assert (version.number, version.title, version.replaced_by, version.by_author) == (
        1,
        {"fi": "Puistonpenkit"},
        user.id,
        False,
    )
    [record] = await db.scalars(
        select(AuditRecord).where(AuditRecord.action == "proposal.edit_text")
    )
    assert record.actor == user.email
    assert record.after["changed"] == {"title": ["sv"], "description": ["sv"]}
    # The log names the languages, never the text.
    assert "Parkbänkar" not in record.record

    page = await client.get(f"/staff/pb/{round_.id}/proposals/{idea.id}")
    assert "Version 1, replaced" in page.text
    assert f"by {user.display_name}" in page.text
    assert "title (Swedish); description (Swedish)" in page.text
    assert re.search(r"Missing:\s*English \(optional\)", page.text)


@pytest.mark.parametrize(
    "changes",
    [
        {"title_fi": "", "title_sv": ""},
        {"title_sv": "x" * 121},
        {"description_sv": "y" * 3001},
        {"title_sv": "Bänk\x00"},
        {"description_sv": "bell\x07"},
    ],
)
async def test_bad_translations_are_refused_and_store_nothing(client, db, changes):
    round_, _, idea = await untranslated_idea(db, status="submitted")
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation",
        data=translation(client, **changes),
    )
    assert response.status_code == 400
    # The error is shown beside the text form, not the moderation's.
    assert response.text.index("error-summary") > response.text.index('id="text-title"')
    assert response.text.index("error-summary") < response.text.index('id="moderation-title"')
    await db.refresh(idea)
    assert idea.title == {"fi": "Puistonpenkit"}
    assert await count(db, ProposalVersion) == 0
    assert (
        await db.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action.like("proposal.%"))
        )
        == 0
    )


async def test_a_hostile_translation_is_shown_escaped(client, db):
    round_, _, idea = await untranslated_idea(db, status="submitted")
    await signed_in_as(client, db, Role.STAFF)
    hostile = '<script>alert("sv")</script>'
    saved = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation",
        data=translation(client, title_sv=hostile),
    )
    assert saved.status_code == 303
    client.cookies.clear()
    page = await client.get(f"/pb/{round_.slug}/proposals/{idea.id}?lang=sv")
    assert "&lt;script&gt;alert" in page.text
    assert '<script>alert("sv")' not in page.text


async def test_translating_needs_staff_and_the_csrf_token(client, db):
    round_, _, idea = await untranslated_idea(db, status="submitted")
    url = f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation"
    await client.get("/account/sign-in?lang=en")  # a form page: the CSRF cookie
    anonymous = await client.post(url, data=translation(client))
    assert anonymous.status_code in (401, 303)
    await signed_in_as(client, db, Role.AUDITOR)
    assert (await client.post(url, data=translation(client))).status_code == 403
    client.cookies.clear()
    await signed_in_as(client, db, Role.STAFF)
    no_token = {k: v for k, v in translation(client).items() if k != "_csrf_token"}
    assert (await client.post(url, data=no_token)).status_code == 403
    await db.refresh(idea)
    assert idea.title == {"fi": "Puistonpenkit"}


# --- voting waits for the official languages -----------------------------------------------


async def test_the_round_page_lists_the_proposals_that_lack_a_translation(client, db):
    round_, _, idea = await untranslated_idea(db)
    translated = await add_proposal(db, round_, None, "Valmis", 1000)
    translated.title = {"fi": "Valmis", "sv": "Klar"}
    translated.description = {}
    await db.commit()
    gaps = await translation_gaps(db, round_.id)
    assert [(g.proposal.id, g.required, g.optional) for g in gaps] == [
        (idea.id, ("sv",), ("en",)),
        (translated.id, (), ("en",)),
    ]
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/pb/{round_.id}")
    assert "Translations for the ballot" in page.text
    assert "Voting opens only when every proposal on the ballot" in page.text
    assert f'href="/staff/pb/{round_.id}/proposals/{idea.id}#text"' in page.text
    assert "missing Swedish; optional, missing English" in page.text
    assert "1 proposal lacks a translation it needs." in page.text


async def test_opening_voting_is_refused_with_the_list_of_untranslated_proposals(client, db):
    round_, kallio, idea = await untranslated_idea(db)
    round_id, idea_id, area_id = round_.id, idea.id, kallio.id
    now = utcnow().replace(microsecond=0)
    draft = draft_in_phase("voting", {area_id: 100_000})
    with pytest.raises(rounds.DomainError) as refused:
        await rounds.update_round(db, round_, draft)
    assert refused.value.message == OPENING_REFUSED
    assert refused.value.params == {"titles": "“Puistonpenkit”"}
    await db.rollback()
    db.expunge_all()
    round_ = await rounds.get_round(db, round_id)
    assert round_.voting_open_at > now
    # Translated, the same change opens voting.
    idea = await db.get(Proposal, idea_id)
    idea.title, idea.description = (
        {"fi": "Puistonpenkit", "sv": "Parkbänkar"},
        {"fi": "Kolme penkkiä.", "sv": "Tre bänkar."},
    )
    await db.commit()
    await rounds.update_round(db, round_, draft_in_phase("voting", {area_id: 100_000}))
    assert rounds.phase_of(await rounds.get_round(db, round_id)) == "voting"


async def test_nobody_can_sign_in_to_vote_until_the_ballot_has_finnish_and_swedish(client, db):
    round_, kallio, idea = await untranslated_idea(db)
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    [code] = (await letter_codes(db, round_)).values()
    await move_to(db, round_, "voting")

    page = await client.get(f"/pb/{round_.slug}/vote?lang=en")
    assert "the ballot is still being translated" in page.text
    refused = await sign_in_to_vote(client, round_, code, adult_birth_date())
    assert refused.status_code == 400
    assert "the ballot is still being translated" in refused.text
    assert "tori_voter" not in refused.headers.get("set-cookie", "")
    entry = await db.scalar(select(RollEntry))
    assert entry.voted_via is None

    await signed_in_as(client, db, Role.STAFF)
    staff_page = await client.get(f"/staff/pb/{round_.id}")
    assert "Voting has not opened: nobody can sign in to vote" in staff_page.text
    assisted = await client.post(
        f"/staff/pb/{round_.id}/assisted",
        data=form(client, identifier="131052-308T", birth_date="1980-05-17"),
    )
    assert assisted.status_code == 400
    assert "has its text in Finnish and Swedish" in assisted.text
    # Voting time has come: a translation may be added step by step (the title first)...
    title_only = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation",
        data=translation(client, description_sv=""),
    )
    assert title_only.status_code == 303
    saved = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation", data=translation(client)
    )
    assert saved.status_code == 303
    # ...but once there, an official language is never taken away.
    dropped = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation",
        data=translation(client, title_fi="Penkit", title_sv="", description_sv=""),
    )
    assert dropped.status_code == 400
    assert "keeps its text in Finnish and Swedish" in dropped.text

    client.cookies.clear()
    signed = await sign_in_to_vote(client, round_, code, adult_birth_date(), lang="sv")
    assert signed.status_code == 303, signed.text
    ballot = await client.get(f"/pb/{round_.slug}/ballot")
    assert '<span lang="sv">Parkbänkar</span>' in ballot.text
    assert "Puistonpenkit" not in ballot.text


# --- the voter's language --------------------------------------------------------------------


async def test_the_ballot_review_and_pages_show_the_voter_s_language_with_lang_on_others(
    client, db
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    benches = await add_proposal(db, round_, kallio, "x", 5000)
    benches.title = {"fi": "Puistonpenkit", "sv": "Parkbänkar"}
    benches.description = {"fi": "Kolme penkkiä.", "sv": "Tre bänkar."}
    lights = await add_proposal(db, round_, kallio, "y", 3000)
    lights.title = {"fi": "Katuvalot", "sv": "Gatubelysning", "en": "Street lights"}
    lights.description = {"fi": "Valoja.", "sv": "Ljus.", "en": "Lights."}
    # Written in Swedish and translated into Finnish: English falls back to the Swedish.
    swings = await add_proposal(db, round_, kallio, "z", 2000)
    swings.title, swings.language = {"fi": "Keinut", "sv": "Gungor"}, "sv"
    swings.description = {"fi": "Kaksi keinua.", "sv": "Två gungor."}
    await db.commit()
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    [code] = (await letter_codes(db, round_)).values()

    signed = await sign_in_to_vote(client, round_, code, adult_birth_date(), lang="sv")
    assert signed.status_code == 303, signed.text
    ballot = await client.get(f"/pb/{round_.slug}/ballot")
    assert '<html lang="sv"' in ballot.text
    assert '<span lang="sv">Parkbänkar</span>' in ballot.text
    assert '<span lang="sv">Gatubelysning</span>' in ballot.text
    assert '<p lang="sv">Tre bänkar.</p>' in ballot.text
    assert "Puistonpenkit" not in ballot.text
    review = await client.post(
        f"/pb/{round_.slug}/ballot",
        data=form(client, action="review", proposal=[str(benches.id), str(lights.id)]),
    )
    assert review.status_code == 200
    assert '<span lang="sv">Parkbänkar</span>' in review.text

    # English: the one with no English text falls back, marked as Finnish for screen readers.
    english = await client.get(f"/pb/{round_.slug}/ballot?lang=en")
    assert '<span lang="en">Street lights</span>' in english.text
    assert '<span lang="fi">Puistonpenkit</span>' in english.text
    assert '<span lang="sv">Gungor</span>' in english.text
    assert "Keinut" not in english.text
    # The button's hidden name too.
    assert '<span lang="fi">Puistonpenkit</span></span></summary>' in english.text
    client.cookies.clear()
    for path in (f"/pb/{round_.slug}/proposals", f"/pb/{round_.slug}/proposals/{benches.id}"):
        swedish = await client.get(f"{path}?lang=sv")
        assert "Parkbänkar" in swedish.text, path
        assert "Puistonpenkit" not in swedish.text, path
        english = await client.get(f"{path}?lang=en")
        assert 'lang="fi">Puistonpenkit<' in english.text, path


async def test_the_translation_pages_are_valid_html(client, db, tmp_path):
    round_, _, idea = await untranslated_idea(db)
    await move_to(db, round_, "voting")
    user = await signed_in_as(client, db, Role.STAFF)
    await moderation.moderate(
        db,
        idea,
        moderation.ModerationDecision(
            moderation.ModerationAction.EDIT_TEXT,
            title={"fi": "Puistonpenkit", "sv": "Parkbänkar"},
            description={"fi": "Kolme.", "sv": "Tre."},
        ),
        user,
    )
    pages = {}
    for language in ("fi", "sv", "en"):
        await client.get(f"/?lang={language}")
        pages[f"{language}-round"] = (await client.get(f"/staff/pb/{round_.id}")).text
        pages[f"{language}-proposal"] = (
            await client.get(f"/staff/pb/{round_.id}/proposals/{idea.id}")
        ).text
        pages[f"{language}-error"] = (
            await client.post(
                f"/staff/pb/{round_.id}/proposals/{idea.id}/moderation",
                data=translation(client, title_fi="", title_sv=""),
            )
        ).text
    files = []
    for number, (label, text) in enumerate(pages.items()):
        assert "<!doctype html>" in text.lower()[:20], label
        path = tmp_path / f"page{number}.html"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    assert check_html(files) == []

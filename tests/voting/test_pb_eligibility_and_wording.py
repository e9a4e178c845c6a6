"""Who has a ballot, what a voter sees back at the ballot after voting, and staff pages that
speak to staff: on PostgreSQL, over HTTP."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.i18n import gettext_in
from app.signing import sign
from tests.conftest import TEST_SECRET
from tests.factories import make_area, make_user, signed_in_as
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    letter_codes,
    make_round,
    put_on_roll,
    sign_in_to_vote,
)
from voting.models import Ballot, PaperEntry, PendingBallot, RollEntry
from voting.paper import PAPER_STATUSES


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def ballots(db) -> int:
    """Ballots cast: those waiting for the mixer and those already in the log."""
    pending = await db.scalar(select(func.count()).select_from(PendingBallot))
    return pending + await db.scalar(select(func.count()).select_from(Ballot))


async def round_without_budget_for(db, *, city_budget: bool):
    """Kallio has a budget; Vuosaari has none (and the city-wide part only when asked)."""
    kallio, vuosaari = await make_area(db, "Kallio"), await make_area(db, "Vuosaari")
    budgets = {kallio.id: 100_000, **({None: 50_000} if city_budget else {})}
    round_ = await make_round(db, "voting", budgets)
    park = await add_proposal(db, round_, kallio, "Park benches", 60_000)
    library = await add_proposal(db, round_, None, "Library hours", 40_000) if city_budget else None
    await put_on_roll(db, round_, [("010203A123B", adult_birth_date(), vuosaari)])
    codes = await letter_codes(db, round_)
    entry = await db.scalar(select(RollEntry))
    return round_, vuosaari, codes[entry.id], entry, park, library


# --- a voter whose area has no budget --------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "This round has no budget for your area, so there is nothing for you to vote on."),
        ("fi", None),
        ("sv", None),
    ],
)
async def test_a_voter_whose_area_has_no_budget_is_refused_at_sign_in(client, db, lang, message):
    round_, _area, code, entry, _park, _library = await round_without_budget_for(
        db, city_budget=False
    )
    refused = await sign_in_to_vote(client, round_, code, adult_birth_date(), lang)
    assert refused.status_code == 400
    assert "tori_voter" not in client.cookies
    expected = message or gettext_in(
        lang,
        "This round has no budget for your area, so there is nothing for you to vote on. "
        "If your area is wrong, contact the organisers.",
    )
    assert expected.replace("'", "&#39;") in refused.text
    await db.refresh(entry)
    assert entry.voted_via is None
    assert await ballots(db) == 0


async def test_with_a_city_wide_budget_that_voter_votes_on_the_city_wide_part(client, db):
    round_, _area, code, _entry, _park, _library = await round_without_budget_for(
        db, city_budget=True
    )
    signed = await sign_in_to_vote(client, round_, code, adult_birth_date())
    assert signed.status_code == 303
    page = await client.get(f"/pb/{round_.slug}/ballot")
    assert "Library hours" in page.text
    assert "Park benches" not in page.text


async def test_a_forged_sign_in_for_an_area_without_budget_cannot_cast_an_empty_ballot(client, db):
    round_, area, _code, entry, _park, _library = await round_without_budget_for(
        db, city_budget=False
    )
    await client.get(f"/pb/{round_.slug}/vote?lang=en")
    # A genuine voter cookie, as a sign-in made before the check existed would have left.
    value = f"{round_.id}.{entry.id}.online.{area.id}"
    client.cookies.set("tori_voter", sign(TEST_SECRET, "pb-voter", value), path="/pb/")
    assert (await client.get(f"/pb/{round_.slug}/ballot")).status_code == 403
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client))
    assert cast.status_code == 403
    assert "nothing for you to vote on" in cast.text
    await db.refresh(entry)
    assert entry.voted_via is None
    assert await ballots(db) == 0


async def test_staff_are_told_when_the_person_has_no_budget_for_their_area(client, db):
    round_, _area, _code, _entry, _park, _library = await round_without_budget_for(
        db, city_budget=False
    )
    await signed_in_as(client, db, Role.STAFF)
    refused = await client.post(
        f"/staff/pb/{round_.id}/assisted",
        data=form(client, identifier="010203A123B", birth_date=adult_birth_date().isoformat()),
    )
    assert refused.status_code == 400
    assert "no budget for this person&#39;s area" in refused.text


@pytest.mark.parametrize("city_budget", [False, True])
async def test_the_roll_import_warns_about_rows_whose_area_has_no_budget(client, db, city_budget):
    kallio = await make_area(db, "Kallio")
    await make_area(db, "Vuosaari")
    budgets = {kallio.id: 100_000, **({None: 50_000} if city_budget else {})}
    round_ = await make_round(db, "review", budgets)
    await signed_in_as(client, db, Role.STAFF)
    csv = (
        "131052-308T;1952-10-13;Kallio\n"
        "010203A123B;2003-02-01;Vuosaari\n"
        "020304A123C;2004-03-02;Vuosaari\n"
    )
    response = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data={"_csrf_token": client.cookies["tori_csrf"]},
        files={"file": ("census.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == 200
    assert "Voter roll imported: 3 added" in response.text
    assert "2 people on the roll live in areas with no budget in this round" in response.text
    assert "Vuosaari (2)" in response.text
    if city_budget:
        assert "They can vote only on the city-wide proposals." in response.text
    else:
        assert "They cannot vote: their ballot would be empty." in response.text
    assert "Kallio (" not in response.text
    fine = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data={"_csrf_token": client.cookies["tori_csrf"]},
        files={"file": ("census.csv", b"131052-308T;1952-10-13;Kallio\n", "text/csv")},
    )
    assert "no budget in this round" not in fine.text


# --- back at the ballot after voting ---------------------------------------------------------


async def voted_round(db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    park = await add_proposal(db, round_, kallio, "Park benches", 60_000)
    await put_on_roll(
        db,
        round_,
        [("131052-308T", adult_birth_date(), kallio), ("010203A123B", adult_birth_date(), kallio)],
    )
    codes = list((await letter_codes(db, round_)).values())
    return round_, park, codes


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("en", "You have already voted"), ("fi", None), ("sv", None)],
)
async def test_back_at_the_ballot_after_voting_the_voter_is_told_they_have_voted(
    client, db, lang, heading
):
    round_, park, codes = await voted_round(db)
    assert (
        await sign_in_to_vote(client, round_, codes[0], adult_birth_date(), lang)
    ).status_code == 303
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(park.id)]))
    assert cast.status_code == 303
    back = await client.get(f"/pb/{round_.slug}/ballot")
    assert back.status_code == 200
    assert (heading or gettext_in(lang, "You have already voted")) in back.text
    assert f'href="/pb/{round_.slug}/receipt"' in back.text
    assert f'<html lang="{lang}">' in back.text
    # The back button to the review page, and "cast" pressed again: the same page, nothing stored.
    again = await client.post(f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(park.id)]))
    assert again.status_code == 409
    assert (heading or gettext_in(lang, "You have already voted")) in again.text
    review = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="review", proposal=[str(park.id)])
    )
    assert review.status_code == 409
    assert await ballots(db) == 1


async def test_the_next_person_on_a_shared_device_still_signs_in_and_votes(client, db):
    round_, park, codes = await voted_round(db)
    await sign_in_to_vote(client, round_, codes[0], adult_birth_date())
    await client.post(f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(park.id)]))
    sign_in_page = await client.get(f"/pb/{round_.slug}/vote")
    assert sign_in_page.status_code == 200
    assert 'name="code"' in sign_in_page.text
    assert (await sign_in_to_vote(client, round_, codes[1], adult_birth_date())).status_code == 303
    ballot = await client.get(f"/pb/{round_.slug}/ballot")
    assert ballot.status_code == 200
    assert "Park benches" in ballot.text
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(park.id)]))
    assert cast.status_code == 303
    assert await ballots(db) == 2


async def test_a_forged_voted_cookie_does_not_claim_a_vote(client, db):
    round_, _park, _codes = await voted_round(db)
    await client.get("/?lang=en")
    client.cookies.set("tori_voted", sign("another secret", "pb-voted", round_.slug), path="/pb/")
    page = await client.get(f"/pb/{round_.slug}/ballot")
    assert page.status_code == 403
    assert "Sign in to vote first." in page.text


# --- staff pages speak to staff ----------------------------------------------------------------


async def test_assisted_voting_tells_staff_about_the_person_not_you(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000}, min_age=12)
    park = await add_proposal(db, round_, kallio, "Park benches", 60_000)
    today = dt.datetime.now(dt.UTC).date()
    child_born = dt.date(today.year - 10, 1, 1)
    await put_on_roll(
        db,
        round_,
        [("131052-308T", adult_birth_date(), kallio), ("CHILD0001", child_born, kallio)],
    )
    await signed_in_as(client, db, Role.STAFF)
    child = await client.post(
        f"/staff/pb/{round_.id}/assisted",
        data=form(client, identifier="CHILD0001", birth_date=child_born.isoformat()),
    )
    assert child.status_code == 400
    assert "This person can vote in this round from the day they turn 12." in child.text
    assert "You can vote" not in child.text
    voter = await db.scalar(select(RollEntry).where(RollEntry.birth_date == adult_birth_date()))
    voter.voted_via = "online"
    await db.commit()
    voted = await client.post(
        f"/staff/pb/{round_.id}/assisted",
        data=form(client, identifier="131052-308T", birth_date=adult_birth_date().isoformat()),
    )
    assert voted.status_code == 400
    assert "This person has already voted in this round." in voted.text
    assert "You have already voted" not in voted.text
    assert park.id


# --- paper ballots -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_paper_typing_statuses_are_shown_in_the_staff_members_language(client, db, lang):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    admin = await signed_in_as(client, db, Role.ADMIN)
    other = await make_user(db, Role.STAFF)
    for slip, status in (("P-1", "pending"), ("P-2", "joined"), ("P-3", "flagged")):
        db.add(PaperEntry(round_id=round_.id, slip=slip, entered_by=admin.id, status=status))
    db.add(PaperEntry(round_id=round_.id, slip="P-3", entered_by=other.id, status="flagged"))
    await db.commit()
    page = await client.get(f"/staff/pb/{round_.id}/paper?lang={lang}")
    assert page.status_code == 200
    cells = re.findall(r"<tr><td>P-\d</td><td>([^<]*)</td>", page.text)
    assert len(cells) == 4
    for raw in ("pending", "joined", "flagged"):
        assert raw not in cells
        assert gettext_in(lang, PAPER_STATUSES[raw]) in cells


# --- the words of voting -------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "word"), [("fi", "Äänestä"), ("sv", "Rösta"), ("en", "Vote")])
async def test_the_pb_vote_button_and_heading_are_not_the_polls_answer_button(
    client, db, lang, word
):
    from app.i18n import _catalogs

    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    round_page = await client.get(f"/pb/{round_.slug}?lang={lang}")
    button = re.search(rf'href="/pb/{round_.slug}/vote">([^<]+)</a>', round_page.text)[1]
    sign_in_page = await client.get(f"/pb/{round_.slug}/vote")
    heading = re.search(r"<h1>([^<]+)</h1>", sign_in_page.text)[1]
    # The poll's button says "Vastaa" (answer) in Finnish; voting in PB has its own message,
    # "Vote" in the context "participatory budgeting".
    assert button == heading
    assert button != "Vastaa"
    # Until the catalogs carry the new message (locale/incoming/h7.json) the English word shows.
    catalog = _catalogs.get(lang)
    translated = catalog.pgettext("participatory budgeting", "Vote") if catalog else "Vote"
    assert button == (word if translated != "Vote" or lang == "en" else "Vote")

"""A fair ballot on PostgreSQL: the city's limits on the number of choices per budget, the
ranking ballot counted by Borda points, and `cast_ballot` keeping the round's rules itself
whoever calls it (attacks that skip the ballot page)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.areas.models import Area
from tests.app.test_html_validity import check_html
from tests.factories import make_area, signed_in_as
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    letter_codes,
    make_round,
    move_to,
    put_on_roll,
    sign_in_to_vote,
)
from tests.voting.test_pb_rounds import round_fields
from voting.ballots import BallotRulesError, cast_ballot
from voting.models import Ballot, Budget, PendingBallot, RollEntry, Round
from voting.publication import publish
from voting.tally.board import check_board


async def stored(db) -> int:
    mixed = await db.scalar(select(func.count()).select_from(Ballot))
    return mixed + await db.scalar(select(func.count()).select_from(PendingBallot))


async def fair_round(db, rule: str = "approval", limits=None, **changes):
    """A round in voting: Kallio 100 000 € (at least 2, at most 3 choices unless `limits`
    says otherwise) and city-wide 300 000 €; one Kallio voter, one Vuosaari voter."""
    kallio, vuosaari = await make_area(db, "Kallio"), await make_area(db, "Vuosaari")
    if limits is None:
        limits = {kallio.id: (2, 3)}
    else:
        limits = {kallio.id if area == "kallio" else area: value for area, value in limits.items()}
    if rule == "ranking":
        changes.setdefault("max_choices", 3)
    round_ = await make_round(
        db,
        "voting",
        {kallio.id: 100_000, vuosaari.id: 50_000, None: 300_000},
        ballot_rule=rule,
        limits=limits,
        **changes,
    )
    p = {
        "park": await add_proposal(db, round_, kallio, "Park benches", 30_000),
        "lights": await add_proposal(db, round_, kallio, "Street lights", 20_000),
        "trees": await add_proposal(db, round_, kallio, "Street trees", 25_000),
        "mural": await add_proposal(db, round_, kallio, "Mural", 10_000),
        "far": await add_proposal(db, round_, vuosaari, "Beach sauna", 40_000),
        "library": await add_proposal(db, round_, None, "Library hours", 200_000),
        "rink": await add_proposal(db, round_, None, "Ice rink", 150_000),
        "draft": await add_proposal(db, round_, None, "Rejected idea", 1_000, status="rejected"),
    }
    await put_on_roll(
        db,
        round_,
        [
            ("131052-308T", adult_birth_date(), kallio),
            ("010203A123B", adult_birth_date(), vuosaari),
            ("020304A234C", adult_birth_date(), kallio),
            ("030405A345D", adult_birth_date(), kallio),
        ],
    )
    codes = await letter_codes(db, round_)
    entry = await db.scalar(
        select(RollEntry).where(RollEntry.area_id == kallio.id).order_by(RollEntry.id).limit(1)
    )
    return round_, p, codes[entry.id], entry


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


# --- the service keeps the rules itself ---------------------------------------------------------

ATTACKS = {
    # name: (ballot rule, choices by proposal name -> value)
    "over the district budget": ("approval", {"park": 1, "lights": 1, "trees": 1, "far": 0}),
    "another district's proposal": ("approval", {"park": 1, "lights": 1, "far": 1}),
    "a rejected proposal": ("approval", {"park": 1, "lights": 1, "draft": 1}),
    "a proposal of another round": ("approval", {"park": 1, "lights": 1, "other": 1}),
    "an approval worth ten": ("approval", {"park": 10, "lights": 1}),
    "too few in a budget with a minimum": ("approval", {"park": 1}),
    "too many in a budget with a maximum": (
        "approval",
        {"park": 1, "lights": 1, "mural": 1, "trees": 1},
    ),
    "a rank given twice": ("ranking", {"park": 1, "lights": 1}),
    "a gap in the ranks": ("ranking", {"park": 1, "lights": 3}),
    "a rank beyond the ranks allowed": ("ranking", {"park": 1, "lights": 2, "trees": 4}),
}


@pytest.mark.parametrize("how", list(ATTACKS))
async def test_cast_ballot_refuses_a_ballot_that_breaks_the_rules_and_stores_nothing(db, how):
    """The attack skips the ballot page and calls the one write path directly, as a route, a
    command or a paper typing could: on the main branch before this change every one of these
    was stored and marked on the roll."""
    rule, wanted = ATTACKS[how]
    limits = None
    if how == "over the district budget":
        limits = {"kallio": (None, None)}
    round_, p, _code, entry = await fair_round(db, rule, limits)
    if how == "a proposal of another round":
        other = await make_round(db, "voting", {None: 1_000_000})
        p["other"] = await add_proposal(db, other, None, "Elsewhere", 1_000)
    if how == "over the district budget":
        # 30 000 + 20 000 + 25 000 = 75 000 fits; make it 105 000 by a costlier proposal.
        p["trees"].final_cost = 55_000
        await db.commit()
    choices = {p[name].id: value for name, value in wanted.items() if value}
    valid = {p["park"].id: 1, p["lights"].id: 2 if rule == "ranking" else 1}
    entry_id, area_id = entry.id, entry.area_id
    with pytest.raises(BallotRulesError):
        await cast_ballot(db, round_, entry_id, "online", choices, area_id)
    assert await stored(db) == 0
    await db.refresh(entry)
    assert entry.voted_via is None  # the voter may still cast a valid ballot
    await db.refresh(round_)
    await cast_ballot(db, round_, entry_id, "online", valid, area_id)
    assert await stored(db) == 1


async def test_the_cast_route_refuses_another_district_s_proposal_and_stores_nothing(client, db):
    """A forged form straight to /cast with another district's proposal: the ballot page
    comes back with the error, nothing is stored."""
    round_, p, code, _entry = await fair_round(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    forged = {"proposal": [str(p["park"].id), str(p["lights"].id), str(p["far"].id)]}
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **forged))
    assert cast.status_code == 400
    assert "Choose from the proposals shown on your ballot." in cast.text
    assert await stored(db) == 0


# --- the limits on the ballot page --------------------------------------------------------------

LIMIT_WORDS = {
    "fi": ("Valitse tässä vähintään 2 ja enintään 3 ehdotusta", "Valitse enintään 3 ehdotusta."),
    "sv": ("Välj minst 2 och högst 3 förslag här", "Välj högst 3 förslag."),
    "en": ("Choose at least 2 and at most 3 proposals here", "Choose at most 3 proposals."),
}


@pytest.mark.parametrize("lang", list(LIMIT_WORDS))
async def test_too_many_choices_are_refused_in_the_voter_s_language_keeping_the_choices(
    client, db, lang
):
    round_, p, code, entry = await fair_round(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date(), lang)
    page = await client.get(f"/pb/{round_.slug}/ballot")
    explained, too_many = LIMIT_WORDS[lang]
    assert explained in page.text
    chosen = [str(p[name].id) for name in ("park", "lights", "trees", "mural")]
    for action in ("review", "recalculate"):
        refused = await client.post(
            f"/pb/{round_.slug}/ballot", data=form(client, action=action, proposal=chosen)
        )
        assert refused.status_code == 400
        assert too_many in refused.text
        for proposal_id in chosen:  # the voter's choices are kept
            assert re.search(rf'value="{proposal_id}"\s+checked', refused.text)
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, proposal=chosen))
    assert cast.status_code == 400
    assert too_many in cast.text
    assert await stored(db) == 0
    fixed = await client.post(f"/pb/{round_.slug}/cast", data=form(client, proposal=chosen[:3]))
    assert fixed.status_code == 303
    assert await stored(db) == 1
    await db.refresh(entry)
    assert entry.voted_via == "online"


async def test_one_choice_under_a_minimum_is_refused_and_an_empty_part_is_allowed(client, db):
    round_, p, code, _entry = await fair_round(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    one = await client.post(
        f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(p["park"].id)])
    )
    assert one.status_code == 400
    assert "Choose at least 2 proposals in this part, or leave it empty." in one.text
    assert await stored(db) == 0
    city_only = await client.post(
        f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(p["rink"].id)])
    )
    assert city_only.status_code == 303
    assert await stored(db) == 1


# --- the ranking ballot -------------------------------------------------------------------------

RANK_WORDS = {
    "fi": "Sija 1 on annettu useammalle kuin yhdelle ehdotukselle.",
    "sv": "Plats 1 har getts till fler än ett förslag.",
    "en": "Rank 1 is given to more than one proposal.",
}


@pytest.mark.parametrize("lang", list(RANK_WORDS))
async def test_a_duplicate_rank_is_refused_in_the_voter_s_language_and_a_fixed_one_is_cast(
    client, db, lang
):
    round_, p, code, _entry = await fair_round(db, "ranking", limits={})
    await sign_in_to_vote(client, round_, code, adult_birth_date(), lang)
    page = await client.get(f"/pb/{round_.slug}/ballot")
    assert f'name="rank_{p["park"].id}"' in page.text
    twice = {f"rank_{p['park'].id}": "1", f"rank_{p['lights'].id}": "1"}
    refused = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="review", **twice)
    )
    assert refused.status_code == 400
    assert RANK_WORDS[lang] in refused.text
    # Both ranks stay chosen for the voter to fix.
    assert refused.text.count('<option value="1" selected>') == 2
    gap = {f"rank_{p['park'].id}": "1", f"rank_{p['lights'].id}": "3"}
    skipped = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **gap))
    assert skipped.status_code == 400
    assert await stored(db) == 0
    ranks = {
        f"rank_{p['park'].id}": "2",
        f"rank_{p['lights'].id}": "1",
        f"rank_{p['rink'].id}": "1",
    }
    review = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="review", **ranks)
    )
    assert review.status_code == 200
    # The review lists the district's proposals in rank order.
    assert review.text.index("Street lights") < review.text.index("Park benches")
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **ranks))
    assert cast.status_code == 303
    pending = (await db.scalars(select(PendingBallot))).one()
    assert pending.choices == {
        str(p["park"].id): 2,
        str(p["lights"].id): 1,
        str(p["rink"].id): 1,
    }


@pytest.mark.parametrize("value", ["0", "4", "-1", "1.5", "x", "１", "9" * 30])
async def test_a_hostile_rank_is_refused_with_an_error_and_stores_nothing(client, db, value):
    round_, p, code, _entry = await fair_round(db, "ranking", limits={})
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    cast = await client.post(
        f"/pb/{round_.slug}/cast", data=form(client, **{f"rank_{p['park'].id}": value})
    )
    assert cast.status_code == 400
    assert "Choose a rank from 1 to 3 or leave the proposal unranked." in cast.text
    assert await stored(db) == 0


async def test_a_ranking_round_publishes_a_valid_board_counted_by_borda_points(db):
    """Three Kallio voters; N = 3. Lights 1st, 1st, 2nd: 3 + 3 + 2 = 8 points; park 2nd, 3rd:
    2 + 1 = 3; trees 1st: 3. The board verifies and the export is pabulib's ordinal format."""
    round_, p, _code, entry = await fair_round(db, "ranking", limits={})
    kallio = entry.area_id
    voters = list(
        await db.scalars(
            select(RollEntry).where(RollEntry.area_id == kallio).order_by(RollEntry.id)
        )
    )
    ballots = [
        {p["lights"].id: 1, p["park"].id: 2},
        {p["lights"].id: 1, p["trees"].id: 2, p["park"].id: 3},
        {p["trees"].id: 1, p["lights"].id: 2},
    ]
    for voter, choices in zip(voters, ballots, strict=True):
        await cast_ballot(db, round_, voter.id, "online", choices, kallio)
    assert len(voters) == 3
    await move_to(db, round_, "results")
    publication = await publish(db, round_, b"\x01" * 32, None)
    verdict = check_board(publication.board.splitlines(keepends=True))
    assert verdict.valid, verdict.problems
    district = next(b for b in publication.results["budgets"] if b["area"] == kallio)
    votes = {row["id"]: row["votes"] for row in district["rows"]}
    assert votes[p["lights"].id] == 3 + 3 + 2
    assert votes[p["park"].id] == 2 + 1
    assert votes[p["trees"].id] == 2 + 3
    export = publication.exports[str(kallio)]
    assert "vote_type;ordinal" in export
    lights, park, trees = p["lights"].id, p["park"].id, p["trees"].id
    # Each ballot's district proposals in rank order (the ballots in the log's shuffled order).
    votes = export.split("voter_id;vote\n", 1)[1].splitlines()
    assert sorted(line.split(";", 1)[1] for line in votes) == sorted(
        [f"{lights},{park}", f"{lights},{trees},{park}", f"{trees},{lights}"]
    )


async def test_staff_set_limits_and_a_ranking_ballot_on_the_round_form(client, db):
    kallio = await make_area(db, "Kallio")
    await signed_in_as(client, db, Role.STAFF)
    fields = round_fields(
        [kallio],
        ballot_rule="ranking",
        max_choices="5",
        **{f"least_{kallio.id}": "2", f"most_{kallio.id}": "4", "most_city": "3"},
    )
    created = await client.post("/staff/pb/new", data=form(client, **fields))
    assert created.status_code == 303, created.text
    round_ = await db.scalar(select(Round))
    assert (round_.ballot_rule, round_.max_choices) == ("ranking", 5)
    limits = {b.area_id: (b.min_choices, b.max_choices) for b in await db.scalars(select(Budget))}
    assert limits == {kallio.id: (2, 4), None: (None, 3)}
    # The form shows them again; clearing one saves no limit.
    edit = await client.get(f"/staff/pb/{round_.id}/edit")
    assert f'name="least_{kallio.id}" type="text" value="2"' in edit.text
    fields["most_city"] = ""
    saved = await client.post(f"/staff/pb/{round_.id}/edit", data=form(client, **fields))
    assert saved.status_code == 303, saved.text
    db.expire_all()
    city = await db.scalar(select(Budget).where(Budget.area_id.is_(None)))
    assert (city.min_choices, city.max_choices) == (None, None)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"least_city": "3", "most_city": "2"}, "least_city", "cannot be more than the most"),
        ({"least_city": "0"}, "least_city", None),
        ({"most_city": "abc"}, "most_city", None),
        ({"most_city": "101"}, "most_city", None),
        ({"most_city": "３"}, "most_city", None),
        ({"least_city": "2", "budget_city": ""}, "least_city", "This area has no budget"),
        ({"ballot_rule": "ranking"}, "max_choices", None),
    ],
)
async def test_bad_limits_on_the_round_form_are_refused_and_store_nothing(
    client, db, changes, field, words
):
    kallio = await make_area(db, "Kallio")
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        "/staff/pb/new", data=form(client, **round_fields([kallio], **changes))
    )
    assert response.status_code == 400
    assert f'href="#field-{field}"' in response.text
    if words:
        assert words in response.text
    assert await db.scalar(select(func.count()).select_from(Round)) == 0


async def test_the_new_ballot_pages_are_valid_html(client, db, tmp_path):
    """The ranking ballot (empty, with a rank given twice, its review), the limits on an
    approval ballot with too many choices, the paper typing page of a ranking round and the
    round form with a bad limit, checked by the Nu Html Checker."""
    pages = {}
    round_, p, code, _entry = await fair_round(db, "ranking")
    await sign_in_to_vote(client, round_, code, adult_birth_date(), "fi")
    pages["ranking"] = await client.get(f"/pb/{round_.slug}/ballot")
    twice = {f"rank_{p['park'].id}": "1", f"rank_{p['lights'].id}": "1"}
    pages["twice"] = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="review", **twice)
    )
    ranks = {f"rank_{p['park'].id}": "2", f"rank_{p['lights'].id}": "1"}
    pages["review"] = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="review", **ranks)
    )
    assert pages["twice"].status_code == 400
    assert pages["review"].status_code == 200
    await signed_in_as(client, db, Role.ADMIN)
    pages["paper"] = await client.get(f"/staff/pb/{round_.id}/paper")
    kallio = next(b.area_id for b in round_.budgets if b.area_id is not None)
    bad = round_fields([await db.get(Area, kallio)], least_city="3", most_city="2")
    pages["form"] = await client.post("/staff/pb/new", data=form(client, **bad))
    assert pages["form"].status_code == 400
    files = []
    for name, response in pages.items():
        assert "<!doctype html>" in response.text.lower()[:20], name
        path = tmp_path / f"{name}.html"
        path.write_text(response.text, encoding="utf-8")
        files.append(path)
    assert check_html(files) == []

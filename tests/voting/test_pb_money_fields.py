"""Money is typed the way Tori shows it: the idea form, the round's budgets and the final cost
all read "30 000 €" through one parser (app.forms.Form.euros)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.forms import Form
from app.i18n import set_language
from tests.factories import make_area, signed_in_as
from tests.voting.factories import add_proposal, make_round
from tests.voting.test_pb_rounds import register_and_sign_in
from voting.models import Proposal

NBSP, NARROW_NBSP = "\u00a0", "\u202f"
WRITTEN = [
    "30000",
    "30 000",
    f"30{NBSP}000",
    f"30{NARROW_NBSP}000",
    "30 000 €",
    f"30{NBSP}000{NBSP}€",
    f"30{NARROW_NBSP}000{NBSP}€",
    "€30,000",
    "30.000 EUR",
    "30 000,00 €",
]


@pytest.mark.parametrize("written", WRITTEN)
def test_amounts_written_as_people_and_tori_write_them_are_read_as_whole_euros(written):
    form = Form({"cost": [written]})
    assert form.euros("cost", required=True, minimum=1) == 30_000
    assert form.is_valid


@pytest.mark.parametrize(
    "written", ["30,5", "30 000,50 €", "lots", "1,50,000", "٣٠٠٠٠", "30 000 $"]
)
def test_amounts_that_are_not_whole_euros_are_refused(written):
    # The error is written in the reader's language: each is asked for by name.
    for language, error in (
        ("en", "Enter whole euros, such as 30 000."),
        ("fi", "Anna summa kokonaisina euroina, esimerkiksi 30 000."),
    ):
        set_language(language)
        form = Form({"cost": [written]})
        assert form.euros("cost", required=True, minimum=1) is None
        assert form.errors["cost"] == error


@pytest.mark.parametrize("written", ["30 000", "30 000 €", f"30{NARROW_NBSP}000{NBSP}€"])
async def test_the_idea_form_accepts_a_cost_written_with_spaces_and_a_euro_sign(
    client, db, caplog, written
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await register_and_sign_in(client, db)
    sent = await client.post(
        f"/pb/{round_.slug}/propose",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "language": "fi",
            "title": "Penkkejä",
            "description": "Lisää penkkejä.",
            "area": str(kallio.id),
            "estimated_cost": written,
        },
    )
    assert sent.status_code == 303, sent.text
    assert await db.scalar(select(Proposal.estimated_cost)) == 30_000


async def test_staff_type_the_final_cost_as_it_is_shown(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    proposal = await add_proposal(db, round_, kallio, "Benches", 20_000, status="submitted")
    await signed_in_as(client, db, Role.STAFF)
    accepted = await client.post(
        f"/staff/pb/{round_.id}/proposals/{proposal.id}",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "action": "accept",
            "final_cost": f"30{NARROW_NBSP}000{NBSP}€",
            "reason_en": "Fits the budget",
        },
    )
    assert accepted.status_code == 303, accepted.text
    await db.refresh(proposal)
    assert proposal.final_cost == 30_000

"""The idea form's language buttons keep what the resident wrote: the form comes back in the
chosen language with every field as it was, and no idea is sent. Over HTTP on PostgreSQL; the
whole journey in a browser is tests/browser/test_journeys_ideas.py."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from app.i18n import gettext_in
from tests.factories import make_area
from tests.voting.factories import make_round
from tests.voting.test_pb_rounds import form, register_and_sign_in
from voting.models import Proposal

WRITTEN = {
    "language": "fi",
    "title": "Penkkejä puistoon",
    "description": "Kallion puistoon\npenkkejä & pöytiä.",
    "estimated_cost": "30 000 €",
}


@pytest.mark.parametrize("switch_to", ["sv", "en", "fi"])
async def test_switching_language_keeps_the_idea_and_sends_nothing(client, db, caplog, switch_to):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await register_and_sign_in(client, db, lang="en")
    page = await client.get(f"/pb/{round_.slug}/propose")
    for code in ("fi", "sv", "en"):
        assert (
            f'<button type="submit" form="propose-form" name="_switch_language" value="{code}"'
            in page.text
        )
    switched = await client.post(
        f"/pb/{round_.slug}/propose",
        data=form(client, area=str(kallio.id), _switch_language=switch_to, **WRITTEN),
    )
    assert switched.status_code == 200
    assert f'<html lang="{switch_to}">' in switched.text
    assert f"<h1>{html.escape(gettext_in(switch_to, 'Send an idea'))}</h1>" in switched.text
    assert 'value="Penkkejä puistoon"' in switched.text
    assert ">Kallion puistoon\npenkkejä &amp; pöytiä.</textarea>" in switched.text
    assert 'value="30 000 €"' in switched.text
    assert f'<option value="{kallio.id}" selected>' in switched.text
    assert '<option value="fi" selected>' in switched.text
    assert "error-summary" not in switched.text
    assert client.cookies.get("tori_lang") == switch_to
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 0
    # The form shown again sends the idea as written.
    sent = await client.post(
        f"/pb/{round_.slug}/propose", data=form(client, area=str(kallio.id), **WRITTEN)
    )
    assert sent.status_code == 303
    proposal = await db.scalar(select(Proposal))
    assert proposal.title == {"fi": "Penkkejä puistoon"}
    assert proposal.estimated_cost == 30_000


async def test_a_language_switch_without_an_account_is_refused(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await client.get(f"/pb/{round_.slug}/propose")
    refused = await client.post(
        f"/pb/{round_.slug}/propose",
        data=form(client, area=str(kallio.id), _switch_language="sv", **WRITTEN),
    )
    assert refused.status_code == 403
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 0

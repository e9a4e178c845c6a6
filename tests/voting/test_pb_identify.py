"""Strong identification against a real OpenID Connect provider started by the test suite
(oidc-provider-mock on a local port): no mocked HTTP anywhere in the flow."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import httpx
from sqlalchemy import func, select

from tests.factories import make_area
from tests.voting.factories import add_proposal, adult_birth_date, make_round, put_on_roll
from voting.models import PendingBallot, RollEntry


async def grant(authorize_url: str, sub: str) -> httpx.Response:
    """The person picks their identity on the provider's own page."""
    async with httpx.AsyncClient(timeout=10) as browser:
        return await browser.post(authorize_url, data={"sub": sub})


def person_at_provider(issuer: str, sub: str, claims: dict) -> None:
    response = httpx.put(f"{issuer}/users/{quote(sub)}", json=claims, timeout=10)
    assert response.status_code == 204


async def identify(client, issuer: str, slug: str, sub: str):
    """The resident presses Identify, picks their identity at the provider, and comes back."""
    await client.get(f"/pb/{slug}/vote?lang=en")
    page = await client.get(f"/pb/{slug}/vote")
    assert "Identify yourself" in page.text
    start = await client.post(
        f"/pb/{slug}/identify", data={"_csrf_token": client.cookies["tori_csrf"]}
    )
    assert start.status_code == 303
    authorize = start.headers["location"]
    assert authorize.startswith(issuer)
    assert "code_challenge=" in authorize
    assert "nonce=" in authorize
    granted = await grant(authorize, sub)
    assert granted.status_code == 302
    back = urlsplit(granted.headers["location"])
    assert back.path == "/pb/identified"
    return await client.get(f"{back.path}?{back.query}")


async def test_a_voter_identified_by_the_provider_votes_and_the_identifier_is_never_stored(
    oidc_client, identity_provider, db
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    benches = await add_proposal(db, round_, kallio, "Benches", 10_000)
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    person_at_provider(identity_provider, "alice", {"hetu": "131052-308T", "name": "Alice"})
    back = await identify(oidc_client, identity_provider, round_.slug, "alice")
    assert back.status_code == 303, back.text
    assert back.headers["location"] == f"/pb/{round_.slug}/ballot"
    ballot = await oidc_client.get(back.headers["location"])
    assert "Benches" in ballot.text
    cast = await oidc_client.post(
        f"/pb/{round_.slug}/cast",
        data={"_csrf_token": oidc_client.cookies["tori_csrf"], "proposal": [str(benches.id)]},
    )
    assert cast.status_code == 303
    assert await db.scalar(select(RollEntry.voted_via)) == "online"
    # The ballot waits for the mixer; its channel is counted on the roll only.
    assert await db.scalar(select(func.count()).select_from(PendingBallot)) == 1


async def test_identified_people_not_on_the_roll_or_too_young_are_refused(
    oidc_client, identity_provider, db
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    person_at_provider(identity_provider, "bob", {"hetu": "999999-999X"})
    refused = await identify(oidc_client, identity_provider, round_.slug, "bob")
    assert refused.status_code == 403
    assert "You are not on the voter roll of this round." in refused.text
    person_at_provider(identity_provider, "carol", {"name": "No identifier"})
    refused = await identify(oidc_client, identity_provider, round_.slug, "carol")
    assert refused.status_code == 400
    assert "did not tell your personal identity code" in refused.text
    assert "tori_voter" not in oidc_client.cookies


async def test_a_forged_or_replayed_callback_is_refused(oidc_client, identity_provider, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    await oidc_client.get("/?lang=en")
    no_flow = await oidc_client.get("/pb/identified?code=abc&state=xyz")
    assert no_flow.status_code == 400
    assert "The identification did not succeed." in no_flow.text
    person_at_provider(identity_provider, "dave", {"hetu": "131052-308T"})
    await oidc_client.get(f"/pb/{round_.slug}/vote")
    start = await oidc_client.post(
        f"/pb/{round_.slug}/identify", data={"_csrf_token": oidc_client.cookies["tori_csrf"]}
    )
    granted = await grant(start.headers["location"], "dave")
    back = urlsplit(granted.headers["location"])
    wrong_state = back.query.replace("state=", "state=x")
    assert (await oidc_client.get(f"{back.path}?{wrong_state}")).status_code == 400
    ok = await oidc_client.get(f"{back.path}?{back.query}")
    assert ok.status_code == 303
    # The code was used once: the provider refuses it again.
    oidc_client.cookies.delete("tori_voter", path="/pb/")
    replay = await oidc_client.get(f"{back.path}?{back.query}")
    assert replay.status_code == 400
    assert "tori_voter" not in oidc_client.cookies


async def test_identify_without_csrf_or_outside_voting_is_refused(
    oidc_client, identity_provider, db
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "counting", {kallio.id: 100_000})
    await oidc_client.get(f"/pb/{round_.slug}/vote?lang=en")
    assert (await oidc_client.post(f"/pb/{round_.slug}/identify")).status_code == 403
    closed = await oidc_client.post(
        f"/pb/{round_.slug}/identify", data={"_csrf_token": oidc_client.cookies["tori_csrf"]}
    )
    assert closed.status_code == 400
    assert "Voting is not open in this round." in closed.text


async def test_nobody_is_sent_to_identify_while_the_ballot_lacks_swedish(
    oidc_client, identity_provider, db
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    benches = await add_proposal(db, round_, kallio, "Penkit", 1000)
    benches.title, benches.description = {"fi": "Penkit"}, {}
    await db.commit()
    page = await oidc_client.get(f"/pb/{round_.slug}/vote?lang=en")
    assert "the ballot is still being translated" in page.text
    assert "Identify yourself" not in page.text
    start = await oidc_client.post(
        f"/pb/{round_.slug}/identify", data={"_csrf_token": oidc_client.cookies["tori_csrf"]}
    )
    assert start.status_code == 400
    assert "the ballot is still being translated" in start.text
    assert "location" not in start.headers

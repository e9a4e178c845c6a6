"""Staff pages name things in the reader's language, not by their stored codes: paper typing
states (pending, joined, flagged), audit actions (paper.mismatch, round.publish) and their
targets, and the state of a round's signature (not published). The codes stay in the exports."""

from __future__ import annotations

from app.accounts.models import Role
from tests.factories import make_user, sign_in, signed_in_as
from tests.voting.factories import adult_birth_date
from tests.voting.test_pb_audit import a_round, form

CODES = ("pending", "joined", "flagged", "paper.first_entry", "paper.mismatch", "paper.joined")


async def test_paper_typings_and_audit_records_are_named_not_coded(client, db):
    round_, _kallio, p, _entries = await a_round(db)
    first_staff = await signed_in_as(client, db, Role.STAFF)
    second_staff = await make_user(db, Role.STAFF)
    born = adult_birth_date().isoformat()

    def typing(slip, voter, *proposals):
        return {
            "slip": slip,
            "identifier": voter,
            "birth_date": born,
            "proposal": [str(p[name].id) for name in proposals],
        }

    paper = f"/staff/pb/{round_.id}/paper"
    await client.post(paper, data=form(client, **typing("P-0001", "VOTER00001", "park")))
    await client.post(paper, data=form(client, **typing("P-0002", "VOTER00002", "park")))
    await client.post(paper, data=form(client, **typing("P-0003", "VOTER00003", "park")))
    await client.post("/staff/logout", data=form(client))
    await sign_in(client, second_staff)
    await client.post(paper, data=form(client, **typing("P-0001", "VOTER00001", "park")))
    await client.post(paper, data=form(client, **typing("P-0002", "VOTER00002", "lights")))
    await client.post("/staff/logout", data=form(client))
    await sign_in(client, await make_user(db, Role.ADMIN))
    assert first_staff.id != second_staff.id

    page = (await client.get(f"{paper}?lang=en")).text
    for label in (
        "Waiting for the second typing",
        "The typings match: counted",
        "The typings differ: flagged for review",
    ):
        assert f"<td>{label}</td>" in page
    audit = (await client.get("/staff/audit?lang=en")).text
    assert "Paper ballot typed for the first time" in audit
    assert "Paper ballot typings differ" in audit
    assert "Paper ballot typings match" in audit
    assert f"round {round_.slug}, slip P-0002" in audit
    signature = (await client.get(f"/staff/pb/{round_.id}/audit?lang=en")).text
    assert "<dd>Not published yet</dd>" in signature
    for language in ("fi", "sv", "en"):
        for path in (paper, "/staff/audit", f"/staff/pb/{round_.id}/audit"):
            text = (await client.get(f"{path}?lang={language}")).text
            shown = [code for code in CODES if f">{code}<" in text or f"<td>{code}" in text]
            assert shown == [], f"{language} {path}"
            assert "<dd>not published</dd>" not in text
    # The export keeps the stable keys.
    export = (await client.get("/staff/audit/audit.jsonl")).text
    assert "paper.mismatch" in export

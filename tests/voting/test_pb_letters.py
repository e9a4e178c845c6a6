"""Voting-code letters on PostgreSQL: numbered batches, letters in Finnish and Swedish with the
voting period, the help contact and a QR code of the code's public part, and printing a lost
batch again with new codes that replace the old ones."""

from __future__ import annotations

import asyncio
import html
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.areas.models import Area
from app.audit import AuditRecord
from app.errors import DomainError
from app.i18n import Formatter, gettext_in
from tests.factories import make_area, signed_in_as
from tests.voting.factories import (
    adult_birth_date,
    make_round,
    move_to,
    put_on_roll,
    sign_in_to_vote,
)
from voting import letters
from voting.models import CodeBatch, RollEntry, Round, VotingCode
from voting.roll import issue_letter_codes, mark_voted_on_paper

BASE = "http://testserver.local"
CODE = re.compile(r"\b[A-Z2-9]{4}(?:-[A-Z2-9]{4}){4}\b")
HELP = "09 816 12345, osallistu@example.fi"


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def count(db, model, *where) -> int:
    return await db.scalar(select(func.count()).select_from(model).where(*where))


async def round_with_roll(db, people: int = 3, phase: str = "voting") -> Round:
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, phase, {kallio.id: 100_000})
    await put_on_roll(
        db, round_, [(f"PERSON{n}", adult_birth_date(), kallio) for n in range(people)]
    )
    return round_


async def issue(client, round_: Round, **fields) -> str:
    response = await client.post(
        f"/staff/pb/{round_.id}/codes", data=form(client, format="sheet", **fields)
    )
    assert response.status_code == 200, response.text
    return response.text


def public_and_secret(code: str) -> tuple[str, str]:
    text = code.replace("-", "")
    return text[:8], text[8:]


def expected_qr(round_: Round, code: str, languages: tuple[str, ...]) -> tuple[str, str]:
    public, _secret = public_and_secret(code)
    url = f"{BASE}/pb/{round_.slug}/vote?code={public[:4]}-{public[4:]}"
    if len(languages) == 1:
        url += f"&lang={languages[0]}"
    label = " / ".join(gettext_in(language, letters._QR_LABEL) for language in languages)
    return url, letters.qr_svg(url, label)


# --- the letters -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fi", "sv"])
async def test_a_letter_in_one_language_has_the_period_the_help_contact_and_a_qr_without_the_secret(
    client, db, settings, language
):
    round_ = await round_with_roll(db, people=2)
    await signed_in_as(client, db, Role.STAFF)
    page = await issue(client, round_, languages=language, help_contact=HELP)

    codes = CODE.findall(page)
    assert len(codes) == 2
    formatter = Formatter(settings.timezone)
    start = formatter.datetime(round_.voting_open_at, language=language)
    end = formatter.datetime(round_.voting_close_at, language=language)
    assert start in page
    assert end in page
    assert ("klo" if language == "fi" else "kl.") in start
    assert html.escape(HELP) in page
    assert page.count(f'<section class="letter-part" lang="{language}">') == 2
    other = "sv" if language == "fi" else "fi"
    assert f'lang="{other}">' not in page.split("<article", 1)[1]
    for code in codes:
        url, svg = expected_qr(round_, code, (language,))
        _public, secret = public_and_secret(code)
        assert secret not in url
        assert svg in page, "the QR code encodes the vote page with the public part only"
        assert page.count(code) == 1
    # The batch is stored with its number, languages and contact; the codes carry the number.
    batch = await db.scalar(select(CodeBatch).where(CodeBatch.round_id == round_.id))
    assert (batch.number, batch.letters, batch.languages, batch.help_contact) == (
        1,
        2,
        language,
        HELP,
    )
    assert await count(db, VotingCode, VotingCode.batch == 1) == 2


async def test_by_default_a_letter_is_in_finnish_and_swedish_and_its_qr_leaves_the_language_open(
    client, db, settings
):
    round_ = await round_with_roll(db, people=1)
    await signed_in_as(client, db, Role.STAFF)
    page = await issue(client, round_)

    article = page.split("<article", 1)[1]
    assert article.index('lang="fi"') < article.index('lang="sv"')
    formatter = Formatter(settings.timezone)
    for language in ("fi", "sv"):
        assert formatter.datetime(round_.voting_close_at, language=language) in article
    # Without a help contact typed, the letters name the site's contact address.
    assert settings.contact_email in article
    (code,) = CODE.findall(page)
    url, svg = expected_qr(round_, code, ("fi", "sv"))
    assert "lang=" not in url
    assert svg in page


async def test_the_letter_words_are_finnish_and_swedish(client, db):
    """The code's label is in the catalogs already; the rest of the letter's new wording
    reaches them from translations/letters.json at merge."""
    round_ = await round_with_roll(db, people=1)
    await signed_in_as(client, db, Role.STAFF)
    page = await issue(client, round_)
    assert "Äänestyskoodisi" in page
    assert "Din röstningskod" in page


async def test_the_qr_code_fills_in_the_public_part_and_never_a_whole_code(client, db):
    round_ = await round_with_roll(db, people=1)
    filled = await client.get(f"/pb/{round_.slug}/vote?code=abcd-efgh")
    assert 'value="ABCD-EFGH-"' in filled.text
    whole = await client.get(f"/pb/{round_.slug}/vote?code=ABCD-EFGH-JKLM-NPQR-STUV")
    assert re.search(r'<input id="field-code" name="code" type="text" value=""', whole.text)
    odd = await client.get(f"/pb/{round_.slug}/vote?code=%3Cscript%3E")
    assert odd.status_code == 200
    assert "<script>" not in odd.text.split("<main", 1)[1]


@pytest.mark.parametrize(("choice", "languages"), [("fi sv", ("fi", "sv")), ("sv", ("sv",))])
async def test_the_mailing_csv_gives_each_letters_qr_address_without_the_secret(
    client, db, choice, languages
):
    round_ = await round_with_roll(db, people=2)
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/codes", data=form(client, format="csv", languages=choice)
    )
    assert response.status_code == 200, response.text
    lines = response.text.lstrip("\ufeff").splitlines()
    assert lines[0].split(",")[-1] == "QR code address"
    assert len(lines) == 3
    for line in lines[1:]:
        code, address = line.split(",")[-2:]
        assert address == expected_qr(round_, code, languages)[0]
        assert public_and_secret(code)[1] not in address


async def test_a_letter_opened_from_its_qr_code_signs_in_with_the_rest_of_the_code(client, db):
    round_ = await round_with_roll(db, people=1)
    await signed_in_as(client, db, Role.STAFF)
    (code,) = CODE.findall(await issue(client, round_, languages="fi"))
    public, secret = public_and_secret(code)
    page = await client.get(f"/pb/{round_.slug}/vote?code={public[:4]}-{public[4:]}&lang=fi")
    prefilled = re.search(
        r'name="code"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="code"', page.text
    )
    typed = "".join(prefilled.groups(default="")) + secret
    signed_in = await client.post(
        f"/pb/{round_.slug}/vote",
        data=form(client, code=typed, birth_date=adult_birth_date().isoformat()),
    )
    assert signed_in.status_code == 303, signed_in.text


# --- batches and printing a batch again ------------------------------------------------------


async def reprint(client, round_: Round, number: int, reprints: str = "0"):
    return await client.post(
        f"/staff/pb/{round_.id}/letters/{number}/reprint", data=form(client, reprints=reprints)
    )


async def test_printing_a_batch_again_replaces_the_codes_of_those_who_have_not_voted(client, db):
    round_ = await round_with_roll(db, people=3)
    await signed_in_as(client, db, Role.STAFF)
    first = CODE.findall(await issue(client, round_, languages="sv", help_contact=HELP))
    assert len(first) == 3
    voter = await db.scalar(select(RollEntry.id).where(RollEntry.round_id == round_.id).limit(1))
    assert await mark_voted_on_paper(db, voter)
    await db.commit()

    listing = await client.get(f"/staff/pb/{round_.id}/letters")
    assert listing.status_code == 200
    assert 'name="reprints" value="0"' in listing.text

    response = await reprint(client, round_, 1)
    assert response.status_code == 200, response.text
    second = CODE.findall(response.text)
    assert len(second) == 2
    assert not set(second) & set(first)
    assert html.escape(HELP) in response.text, "a reprint keeps the batch's help contact"
    assert 'lang="sv"' in response.text.split("<article", 1)[1]

    # Two old codes replaced, the voter's kept; every new code is in batch 1.
    assert await count(db, VotingCode, VotingCode.replaced.is_(True)) == 2
    assert await count(db, VotingCode, VotingCode.batch == 1) == 5
    batch = await db.scalar(select(CodeBatch))
    await db.refresh(batch)
    assert batch.reprints == 1
    assert batch.reprinted_at is not None

    # Counts only in the audit log, written with the change.
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "codes.reprint"))
    assert record.after == {"batch": 1, "issued": 2, "replaced": 2, "voted": 1}
    assert record.target == f"round {round_.slug}"

    # Each old code of a non-voter is refused with a clear message; the new codes work.
    client.cookies.clear()
    replaced = []
    for code in first:
        refused = await sign_in_to_vote(client, round_, code, adult_birth_date())
        assert refused.status_code == 400
        replaced += ["replaced" in refused.text]
    assert replaced.count(True) == 2, "the voter's own old code says they voted, not replaced"
    client.cookies.clear()
    signed_in = await sign_in_to_vote(client, round_, second[0], adult_birth_date())
    assert signed_in.status_code == 303


async def test_the_letters_page_shows_each_batch_with_its_counts(client, db, settings):
    round_ = await round_with_roll(db, people=2)
    await signed_in_as(client, db, Role.STAFF)
    await issue(client, round_)
    voter = await db.scalar(select(RollEntry.id).limit(1))
    await mark_voted_on_paper(db, voter)
    await db.commit()
    page = (await client.get(f"/staff/pb/{round_.id}/letters")).text
    row = re.search(r"<tr>\s*<td>1</td>(.*?)</tr>", page, re.S).group(1)
    made, issued, voted, waiting, *_rest = (
        cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    )
    batch = await db.scalar(select(CodeBatch))
    assert made == Formatter(settings.timezone).datetime(batch.issued_at, language="en")
    assert (issued, voted, waiting) == ("2", "1", "1")


async def test_a_double_submit_of_the_reprint_form_prints_once(client, db):
    round_ = await round_with_roll(db, people=2)
    await signed_in_as(client, db, Role.STAFF)
    await issue(client, round_)
    assert (await reprint(client, round_, 1)).status_code == 200
    codes = await count(db, VotingCode)
    again = await reprint(client, round_, 1)
    assert again.status_code == 409
    assert "was just printed again" in again.text
    assert "Nothing was changed." in again.text
    assert not CODE.search(again.text)
    assert await count(db, VotingCode) == codes
    assert await count(db, AuditRecord, AuditRecord.action == "codes.reprint") == 1


async def test_two_reprints_at_the_same_moment_issue_one_set(db, database):
    round_ = await round_with_roll(db, people=2)
    async with database.sessionmaker() as session:
        await issue_letter_codes(session, await session.get(Round, round_.id))

    async def attempt():
        async with database.sessionmaker() as session:
            fresh = await session.get(Round, round_.id)
            return await letters.reprint_batch(session, fresh, 1, 0)

    outcomes = await asyncio.gather(attempt(), attempt(), return_exceptions=True)
    assert sum(isinstance(outcome, letters.Reprint) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, DomainError) for outcome in outcomes) == 1
    assert await count(db, VotingCode) == 4
    assert await count(db, VotingCode, VotingCode.replaced.is_(True)) == 2


async def test_printing_again_is_refused_after_voting_has_closed(client, db):
    round_ = await round_with_roll(db, people=2)
    await signed_in_as(client, db, Role.STAFF)
    await issue(client, round_)
    await move_to(db, round_, "counting")
    refused = await reprint(client, round_, 1)
    assert refused.status_code == 409
    assert "Voting has closed" in refused.text
    assert await count(db, VotingCode, VotingCode.replaced.is_(True)) == 0
    assert await count(db, VotingCode) == 2
    page = await client.get(f"/staff/pb/{round_.id}/letters")
    assert "/reprint" not in page.text


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("unknown batch", 404, "This round has no batch 7 of letters."),
        ("another round's batch", 404, "This round has no batch 1 of letters."),
        ("no count", 400, "This field is required."),
        ("a word for a count", 400, "Enter a whole number"),
    ],
)
async def test_a_bad_reprint_is_refused_with_a_message_and_stores_nothing(
    client, db, case, status, message
):
    round_ = await round_with_roll(db, people=1)
    toinen = await make_area(db, "Toinen")
    other = await make_round(db, "voting", {toinen.id: 50_000})
    await put_on_roll(db, other, [("OTHER1", adult_birth_date(), toinen)])
    await signed_in_as(client, db, Role.STAFF)
    if case == "another round's batch":
        await issue(client, other)
    else:
        await issue(client, round_)
    codes = await count(db, VotingCode)
    audit = await count(db, AuditRecord)
    number, fields = {
        "unknown batch": (7, {"reprints": "0"}),
        "another round's batch": (1, {"reprints": "0"}),
        "no count": (1, {}),
        "a word for a count": (1, {"reprints": "yksi"}),
    }[case]
    response = await client.post(
        f"/staff/pb/{round_.id}/letters/{number}/reprint", data=form(client, **fields)
    )
    assert response.status_code == status, response.text
    assert message in response.text
    assert await count(db, VotingCode) == codes
    assert await count(db, VotingCode, VotingCode.replaced.is_(True)) == 0
    assert await count(db, AuditRecord) == audit


async def test_only_editors_see_letters_and_print_them_again(client, db):
    round_ = await round_with_roll(db, people=1)
    await signed_in_as(client, db, Role.STAFF)
    await issue(client, round_)
    client.cookies.clear()
    await signed_in_as(client, db, Role.AUDITOR)
    assert (await client.get(f"/staff/pb/{round_.id}/letters")).status_code == 403
    assert (await reprint(client, round_, 1)).status_code == 403
    refused = await client.post(f"/staff/pb/{round_.id}/codes", data=form(client, format="sheet"))
    assert refused.status_code == 403
    assert await count(db, VotingCode) == 1
    assert await count(db, VotingCode, VotingCode.replaced.is_(True)) == 0
    assert await count(db, CodeBatch) == 1


async def test_a_letter_language_not_offered_is_refused_and_makes_no_codes(client, db):
    round_ = await round_with_roll(db, people=1)
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/codes",
        data=form(client, format="sheet", languages="de", help_contact="x" * 201),
    )
    assert response.status_code == 400
    assert "Choose" in response.text
    assert await count(db, VotingCode) == 0
    assert await count(db, CodeBatch) == 0


async def test_issuing_again_makes_batch_two_for_newcomers_only(client, db):
    round_ = await round_with_roll(db, people=2)
    await signed_in_as(client, db, Role.STAFF)
    await issue(client, round_)
    nobody = await issue(client, round_)
    assert not CODE.search(nobody)
    assert await count(db, CodeBatch) == 1
    area = await db.get(Area, await db.scalar(select(RollEntry.area_id).limit(1)))
    await put_on_roll(db, round_, [(f"PERSON{n}", adult_birth_date(), area) for n in range(3)])
    newcomer = CODE.findall(await issue(client, round_))
    assert len(newcomer) == 1
    assert await count(db, VotingCode, VotingCode.batch == 2) == 1

"""Places and themes on PostgreSQL (voting/places.py): staff add, rename and remove a round's
themes (audited), set a proposal's themes and place; residents pick themes for a new idea; the
public list, the ballot and the results filter by theme and area – and a filter on the ballot
never loses a choice. Every form tried empty, oversized, malformed, hostile and duplicated."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditRecord
from app.settings import InsecureSettingsError, Settings
from tests.conftest import TEST_SECRET
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
from tests.voting.test_pb_rounds import form, register_and_sign_in
from voting import places, rounds
from voting.models import PendingBallot, Proposal, ProposalTheme, RollEntry, Theme
from voting.publication import publish

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def audit_actions(db, prefix: str) -> list[str]:
    return list(
        await db.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.action.like(f"{prefix}.%"))
            .order_by(AuditRecord.seq)
        )
    )


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


def theme_form(client, fi="", sv="", en=""):
    return form(client, name_fi=fi, name_sv=sv, name_en=en)


# --- themes on the staff pages -------------------------------------------------------------


async def test_staff_add_rename_and_remove_themes_each_recorded_in_the_audit_log(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    benches = await add_proposal(db, round_, kallio, "Benches", 1000, "submitted")
    await signed_in_as(client, db, Role.STAFF)
    base = f"/staff/pb/{round_.id}/themes"
    assert (await client.get(base)).status_code == 200
    added = await client.post(base, data=theme_form(client, "Puistot", "Parker", "Parks"))
    assert added.status_code == 303
    assert added.headers["location"] == f"{base}?done=add"
    theme = await db.scalar(select(Theme))
    assert theme.name == {"fi": "Puistot", "sv": "Parker", "en": "Parks"}
    page = await client.get(base)
    assert "Puistot" in page.text
    assert "Parker" in page.text

    await places.set_place_and_themes(db, round_, benches, places.Place(), [theme.id])
    renamed = await client.post(
        f"{base}/{theme.id}", data=theme_form(client, "Puistot ja luonto", "Parker och natur")
    )
    assert renamed.status_code == 303
    await db.refresh(theme)
    assert theme.name == {"fi": "Puistot ja luonto", "sv": "Parker och natur"}
    removed = await client.post(f"{base}/{theme.id}/remove", data=form(client))
    assert removed.status_code == 303
    assert await count(db, Theme) == 0
    assert await count(db, ProposalTheme) == 0
    assert await audit_actions(db, "theme") == ["theme.create", "theme.rename", "theme.remove"]
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "theme.remove"))
    assert record.before["proposals"] == [benches.id]


@pytest.mark.parametrize(
    ("names", "field", "message"),
    [
        (("", "", ""), "name_fi", "This field is required."),
        (("Puistot", "", "Parks"), "name_sv", "This field is required."),
        (("", "Parker", ""), "name_fi", "This field is required."),
        (("   ", "Parker", ""), "name_fi", "This field is required."),
        (("x" * 10_000, "Parker", ""), "name_fi", "Use at most 80 characters."),
        (("Puistot", "y" * 81, ""), "name_sv", "Use at most 80 characters."),
        (("Puis\x00tot", "Parker", ""), "name_fi", "Remove the special control characters"),
        (("Puistot\nja", "Parker", ""), "name_fi", "Remove the special control characters"),
    ],
)
async def test_a_bad_theme_name_is_refused_beside_its_field_and_nothing_is_stored(
    client, db, names, field, message
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await signed_in_as(client, db, Role.STAFF)
    refused = await client.post(f"/staff/pb/{round_.id}/themes", data=theme_form(client, *names))
    assert refused.status_code == 400
    assert message in refused.text
    assert f'href="#field-{field}"' in refused.text
    assert await count(db, Theme) == 0
    assert await audit_actions(db, "theme") == []


async def test_a_hostile_theme_name_is_stored_as_text_and_shown_escaped(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await signed_in_as(client, db, Role.STAFF)
    hostile = HOSTILE[:80]
    added = await client.post(
        f"/staff/pb/{round_.id}/themes", data=theme_form(client, hostile, "Parker")
    )
    assert added.status_code == 303
    assert (await db.scalar(select(Theme))).name["fi"] == hostile
    for page in (
        await client.get(f"/staff/pb/{round_.id}/themes"),
        await client.get(f"/pb/{round_.slug}/proposals"),
    ):
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;" in page.text


async def test_duplicate_theme_names_are_refused_in_any_language_and_any_case(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    other = await make_round(db, "ideas", {kallio.id: 100_000})
    await signed_in_as(client, db, Role.STAFF)
    base = f"/staff/pb/{round_.id}/themes"
    await client.post(base, data=theme_form(client, "Puistot", "Parker", "Parks"))
    await client.post(base, data=theme_form(client, "Liikunta", "Motion"))
    for names in (("PUISTOT", "Natur"), ("Luonto", "parker"), ("Luonto", "Natur", "parks")):
        refused = await client.post(base, data=theme_form(client, *names))
        assert refused.status_code == 400
        assert "This round already has a theme named" in refused.text
    # Renaming one theme to another's name is refused too; keeping its own name is fine.
    sport = (await places.list_themes(db, round_.id))[1]
    clash = await client.post(f"{base}/{sport.id}", data=theme_form(client, "Puistot", "Motion"))
    assert clash.status_code == 400
    same = await client.post(f"{base}/{sport.id}", data=theme_form(client, "liikunta", "Motion"))
    assert same.status_code == 303
    # Another round may use the same names.
    elsewhere = await client.post(
        f"/staff/pb/{other.id}/themes", data=theme_form(client, "Puistot", "Parker")
    )
    assert elsewhere.status_code == 303
    assert await count(db, Theme) == 3


async def test_a_theme_of_another_round_is_not_found_and_the_auditor_only_reads(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    other = await make_round(db, "ideas", {kallio.id: 100_000})
    theme = await places.create_theme(db, other, {"fi": "Puistot", "sv": "Parker"})
    await signed_in_as(client, db, Role.STAFF)
    wrong = await client.post(
        f"/staff/pb/{round_.id}/themes/{theme.id}", data=theme_form(client, "A", "B")
    )
    assert wrong.status_code == 404
    gone = await client.post(f"/staff/pb/{round_.id}/themes/{theme.id}/remove", data=form(client))
    assert gone.status_code == 404
    assert await count(db, Theme) == 1


# --- a proposal's themes and place -----------------------------------------------------------


async def place_round(db):
    kallio, vallila = await make_area(db, "Kallio"), await make_area(db, "Vallila")
    round_ = await make_round(db, "review", {kallio.id: 100_000, vallila.id: 50_000, None: 300_000})
    parks = await places.create_theme(db, round_, {"fi": "Puistot", "sv": "Parker"})
    sport = await places.create_theme(db, round_, {"fi": "Liikunta", "sv": "Motion"})
    return round_, (kallio, vallila), (parks, sport)


async def test_staff_set_the_themes_and_place_of_a_city_wide_proposal(client, db):
    round_, (_kallio, vallila), (parks, sport) = await place_round(db)
    library = await add_proposal(db, round_, None, "Library", 1000, "submitted")
    await signed_in_as(client, db, Role.STAFF)
    url = f"/staff/pb/{round_.id}/proposals/{library.id}/place"
    assert (await client.get(url)).status_code == 200
    saved = await client.post(
        url,
        data=form(
            client,
            theme=[str(parks.id), str(sport.id)],
            place_name="Vallilan kirjasto, Päijänteentie 5",
            place_area=str(vallila.id),
            latitude="60,1955",
            longitude="24.9500",
        ),
    )
    assert saved.status_code == 303, saved.text
    await db.refresh(library)
    assert library.place_name == "Vallilan kirjasto, Päijänteentie 5"
    assert library.place_area_id == vallila.id
    assert (library.latitude, library.longitude) == (60.1955, 24.95)
    assert await places.theme_ids_of(db, library.id) == sorted([parks.id, sport.id])
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "proposal.place"))
    assert record.before["themes"] == []
    assert record.after["area"] == vallila.id
    page = await client.get(f"/pb/{round_.slug}/proposals/{library.id}?lang=en")
    assert "Vallilan kirjasto, Päijänteentie 5" in page.text
    # No English name: the theme is shown by its Finnish one.
    assert re.search(r"<dt>Themes</dt><dd><span lang=\"fi\">Puistot</span>, ", page.text)
    # No map service configured: no link, and nothing from another site on the page.
    assert "Show on the map" not in page.text
    assert "kartta" not in page.text
    # Saving the same again records nothing new.
    again = await client.post(
        url,
        data=form(
            client,
            theme=[str(parks.id), str(sport.id)],
            place_name="Vallilan kirjasto, Päijänteentie 5",
            place_area=str(vallila.id),
            latitude="60.1955",
            longitude="24.95",
        ),
    )
    assert again.status_code == 303
    assert await audit_actions(db, "proposal") == ["proposal.place"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"latitude": "91", "longitude": "24.9"}, "latitude", "Give a latitude in Finland"),
        ({"latitude": "-60.2", "longitude": "24.9"}, "latitude", "Give a latitude in Finland"),
        ({"latitude": "60.2", "longitude": "181"}, "longitude", "Give a longitude in Finland"),
        ({"latitude": "40.7", "longitude": "-74.0"}, "latitude", "Give a latitude in Finland"),
        ({"latitude": "60.2"}, "longitude", "Give both coordinates, or neither."),
        ({"longitude": "24.9"}, "latitude", "Give both coordinates, or neither."),
        ({"latitude": "abc", "longitude": "24.9"}, "latitude", "Enter degrees as a decimal"),
        ({"latitude": "NaN", "longitude": "24.9"}, "latitude", "Enter degrees as a decimal"),
        ({"latitude": "inf", "longitude": "24.9"}, "latitude", "Enter degrees as a decimal"),
        ({"latitude": "6e1", "longitude": "24.9"}, "latitude", "Enter degrees as a decimal"),
        ({"latitude": "60°10′N", "longitude": "24.9"}, "latitude", "Enter degrees as a decimal"),
        ({"latitude": "60.1.2", "longitude": "24.9"}, "latitude", "Enter degrees as a decimal"),
        ({"latitude": "6" * 10_000, "longitude": "24.9"}, "latitude", "Enter degrees as"),
        ({"place_name": "k" * 10_000}, "place_name", "Use at most 200 characters."),
        ({"place_name": "Tori\x07"}, "place_name", "Remove the special control characters"),
        ({"place_area": "999999"}, "place_area", "Choose one of the options."),
        ({"place_area": "<b>"}, "place_area", "Choose one of the options."),
        ({"theme": "999999"}, "theme", "Choose from the options shown."),
        ({"theme": "x"}, "theme", "Choose from the options shown."),
    ],
)
async def test_a_bad_place_is_refused_beside_its_field_and_nothing_is_stored(
    client, db, fields, field, message
):
    round_, _areas, _themes = await place_round(db)
    library = await add_proposal(db, round_, None, "Library", 1000, "submitted")
    await signed_in_as(client, db, Role.STAFF)
    refused = await client.post(
        f"/staff/pb/{round_.id}/proposals/{library.id}/place", data=form(client, **fields)
    )
    assert refused.status_code == 400
    assert message in refused.text
    assert f'href="#field-{field}"' in refused.text
    await db.refresh(library)
    assert (library.place_name, library.place_area_id, library.latitude) == (None, None, None)
    assert await count(db, ProposalTheme) == 0
    assert await audit_actions(db, "proposal") == []


async def test_a_district_proposal_lies_in_its_own_district_and_themes_of_another_round_are_refused(
    db,
):
    round_, (kallio, vallila), _themes = await place_round(db)
    other = await make_round(db, "ideas", {kallio.id: 100_000})
    foreign = await places.create_theme(db, other, {"fi": "Muu", "sv": "Annat"})
    benches = await add_proposal(db, round_, kallio, "Benches", 1000, "submitted")
    round_id, benches_id = round_.id, benches.id

    async def attempt(place, themes) -> None:
        # A refused change leaves the session rolled back: read the rows again for the next.
        db.expunge_all()
        round_ = await rounds.get_round(db, round_id)
        proposal = await db.get(Proposal, benches_id)
        try:
            await places.set_place_and_themes(db, round_, proposal, place, themes)
        finally:
            await db.rollback()

    with pytest.raises(places.DomainError, match="lies in its own district"):
        await attempt(places.Place(area_id=vallila.id), [])
    with pytest.raises(places.ThemeError):
        await attempt(places.Place(), [foreign.id])
    for latitude, longitude in ((60.0, None), (float("nan"), 24.0), (58.9, 24.0), (60.0, 33.0)):
        with pytest.raises(places.DomainError):
            await attempt(places.Place(latitude=latitude, longitude=longitude), [])
    # Its own district is taken as no separate area.
    await attempt(places.Place(area_id=kallio.id, name="Karhupuisto"), [])
    db.expunge_all()
    benches = await db.get(Proposal, benches_id)
    assert benches.place_name == "Karhupuisto"
    assert benches.place_area_id is None


# --- the map link --------------------------------------------------------------------------


def test_the_map_link_fills_the_citys_template_and_is_shown_only_when_it_can_be():
    proposal = Proposal(place_name="Kauppatori & Co / 1", latitude=60.1675, longitude=24.9525)
    point = "https://kartta.hel.fi/?e={lon}&n={lat}"
    assert places.map_link(point, proposal) == "https://kartta.hel.fi/?e=24.952500&n=60.167500"
    assert (
        places.map_link("https://maps.example.fi/?q={query}", proposal)
        == "https://maps.example.fi/?q=Kauppatori%20%26%20Co%20%2F%201"
    )
    assert places.map_link(None, proposal) is None
    assert places.map_link(point, Proposal(place_name="Kauppatori")) is None
    assert places.map_link("https://m.example.fi/?q={query}", Proposal(latitude=60.0)) is None


@pytest.mark.parametrize(
    "template",
    [
        "javascript:alert(1)//{lat}",
        "https://kartta.example.fi/",
        "https://kartta.example.fi/?x={lat}&y={lng}",
        "https://kartta.example.fi/?x={lat}&q={0.__class__}",
        'https://kartta.example.fi/?x={lat}"><script>',
        "https://kartta.example.fi/ {lat}",
    ],
)
def test_a_map_url_setting_that_cannot_be_a_safe_link_is_refused_at_start(template):
    with pytest.raises(InsecureSettingsError, match="TORI_MAP_URL"):
        Settings.from_environment(
            {"SECRET_KEY": TEST_SECRET, "TORI_ENV": "test", "TORI_MAP_URL": template}
        )


def test_production_refuses_a_map_url_without_https():
    with pytest.raises(InsecureSettingsError, match="TORI_MAP_URL must be an https"):
        Settings.from_environment(
            {"TORI_ENV": "production", "TORI_MAP_URL": "http://kartta.example.fi/?q={query}"}
        )


def test_a_map_url_setting_is_read_from_the_environment():
    settings = Settings.from_environment(
        {
            "SECRET_KEY": TEST_SECRET,
            "TORI_ENV": "test",
            "TORI_MAP_URL": "https://kartta.hel.fi/?e={lon}&n={lat}",
        }
    )
    assert settings.map_url == "https://kartta.hel.fi/?e={lon}&n={lat}"
    assert (
        Settings.from_environment({"SECRET_KEY": TEST_SECRET, "TORI_ENV": "test"}).map_url is None
    )


# --- a resident picks themes for a new idea ---------------------------------------------------


async def test_a_resident_picks_themes_and_names_the_place_of_a_new_idea(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    parks = await places.create_theme(db, round_, {"fi": "Puistot", "sv": "Parker", "en": "Parks"})
    await register_and_sign_in(client, db)
    page = await client.get(f"/pb/{round_.slug}/propose")
    assert "Parks" in page.text
    idea = {
        "language": "fi",
        "title": "Penkkejä puistoon",
        "description": "Lisää penkkejä",
        "area": str(kallio.id),
        "estimated_cost": "1000",
        "place_name": "Karhupuisto",
    }
    refused = await client.post(
        f"/pb/{round_.slug}/propose", data=form(client, theme="999999", **idea)
    )
    assert refused.status_code == 400
    assert await count(db, Proposal) == 0
    sent = await client.post(
        f"/pb/{round_.slug}/propose", data=form(client, theme=str(parks.id), **idea)
    )
    assert sent.status_code == 303, sent.text
    proposal = await db.scalar(select(Proposal))
    assert proposal.place_name == "Karhupuisto"
    assert await places.theme_ids_of(db, proposal.id) == [parks.id]


# --- filters ---------------------------------------------------------------------------------


def listed_titles(page: str) -> list[str]:
    return sorted(re.findall(r'class="event-title"><a [^>]*>(?:<span[^>]*>)?([^<]+)<', page))


async def test_the_public_list_filters_by_theme_and_by_area(client, db):
    round_, (kallio, vallila), (parks, sport) = await place_round(db)
    benches = await add_proposal(db, round_, kallio, "Benches", 1000)
    gym = await add_proposal(db, round_, vallila, "Outdoor gym", 1000)
    library = await add_proposal(db, round_, None, "Library", 1000)
    await add_proposal(db, round_, None, "Buses", 1000)
    await places.set_place_and_themes(db, round_, benches, places.Place(), [parks.id])
    await places.set_place_and_themes(db, round_, gym, places.Place(), [parks.id, sport.id])
    await places.set_place_and_themes(
        db, round_, library, places.Place(area_id=kallio.id), [sport.id]
    )
    base = f"/pb/{round_.slug}/proposals?lang=en"
    every = await client.get(base)
    assert listed_titles(every.text) == ["Benches", "Buses", "Library", "Outdoor gym"]
    assert listed_titles((await client.get(f"{base}&theme={parks.id}")).text) == [
        "Benches",
        "Outdoor gym",
    ]
    # An area: its district's proposals and the city-wide ones that lie in it.
    in_kallio = await client.get(f"{base}&area={kallio.id}")
    assert listed_titles(in_kallio.text) == ["Benches", "Library"]
    assert "Showing 2 of 4 proposals." in in_kallio.text
    both = await client.get(f"{base}&area={kallio.id}&theme={sport.id}")
    assert listed_titles(both.text) == ["Library"]
    assert listed_titles((await client.get(f"{base}&area=city")).text) == ["Buses", "Library"]
    for bad in ("theme=999999", "theme=abc", "area=zzz", f"theme={parks.id}<script>"):
        refused = await client.get(f"{base}&{bad}")
        assert refused.status_code == 400
        assert "Choose one of the options." in refused.text
        assert "<script>" not in refused.text.split("</head>")[1].replace("<script src", "")


async def voting_round_with_themes(db, **changes):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000, None: 300_000}, **changes)
    parks = await places.create_theme(db, round_, {"fi": "Puistot", "sv": "Parker", "en": "Parks"})
    sport = await places.create_theme(db, round_, {"fi": "Liikunta", "sv": "Motion", "en": "Sport"})
    found = {}
    for name, area, cost, themes in (
        ("Benches", kallio, 20_000, [parks]),
        ("Outdoor gym", kallio, 30_000, [sport]),
        ("Library", None, 100_000, []),
        ("Swimming hall", None, 150_000, [sport]),
    ):
        found[name] = await add_proposal(db, round_, area, name, cost)
        await places.set_place_and_themes(
            db, round_, found[name], places.Place(), [t.id for t in themes]
        )
    await move_to(db, round_, "voting")
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    entry = await db.scalar(select(RollEntry))
    code = (await letter_codes(db, round_))[entry.id]
    return round_, found, (parks, sport), code


def shown_choices(page: str) -> list[str]:
    return re.findall(r'type="checkbox" id="proposal-(\d+)"', page)


def kept_choices(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="proposal" value="(\d+)">', page)


async def test_a_filter_on_the_ballot_hides_rows_but_never_a_choice(client, db):
    round_, p, (parks, sport), code = await voting_round_with_themes(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date(), "en")
    url = f"/pb/{round_.slug}/ballot"
    whole = await client.get(url)
    assert sorted(shown_choices(whole.text)) == sorted(str(x.id) for x in p.values())
    # Tick the benches, then show only the sport proposals: the benches row is gone, its
    # choice is kept in the form.
    sport_only = await client.post(
        url,
        data=form(client, action="filter", theme=str(sport.id), proposal=[str(p["Benches"].id)]),
    )
    assert sport_only.status_code == 200
    assert sorted(shown_choices(sport_only.text)) == sorted(
        [str(p["Outdoor gym"].id), str(p["Swimming hall"].id)]
    )
    assert kept_choices(sport_only.text) == [str(p["Benches"].id)]
    assert "Showing 2 of 4 proposals." in sport_only.text
    assert "20\xa0000\xa0€ of 100\xa0000\xa0€ chosen" in sport_only.text
    # Tick more under the filter and change it: every choice is still in the form.
    chosen = [str(p["Benches"].id), str(p["Swimming hall"].id)]
    parks_only = await client.post(
        url, data=form(client, action="filter", theme=str(parks.id), proposal=chosen)
    )
    assert shown_choices(parks_only.text) == [str(p["Benches"].id)]
    assert (
        'id="proposal-{}" name="proposal" value="{}" checked'.format(
            p["Benches"].id, p["Benches"].id
        )
        in parks_only.text
    )
    assert kept_choices(parks_only.text) == [str(p["Swimming hall"].id)]
    # Filtering by the city-wide budget, then back to everything.
    city = await client.post(url, data=form(client, action="filter", area="city", proposal=chosen))
    assert sorted(shown_choices(city.text)) == sorted(
        [str(p["Library"].id), str(p["Swimming hall"].id)]
    )
    assert kept_choices(city.text) == [str(p["Benches"].id)]
    every = await client.post(url, data=form(client, action="filter", proposal=chosen))
    assert kept_choices(every.text) == []
    assert len(shown_choices(every.text)) == 4
    # A filter value that is not an option: an error beside the filter, the choices kept.
    bad = await client.post(
        url, data=form(client, action="filter", theme="<b>x</b>", proposal=chosen)
    )
    assert "Choose one of the options." in bad.text
    assert "<b>x</b>" not in bad.text
    assert len(shown_choices(bad.text)) == 4
    # The review page and the cast take every choice, whatever was shown last.
    review = await client.post(url, data=form(client, action="review", proposal=chosen))
    assert review.status_code == 200
    assert "Benches" in review.text
    assert "Swimming hall" in review.text
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, proposal=chosen))
    assert cast.status_code == 303
    stored = await db.scalar(select(PendingBallot))
    assert stored.choices == {str(p["Benches"].id): 1, str(p["Swimming hall"].id): 1}


async def test_a_filter_on_a_points_ballot_keeps_the_points_given(client, db):
    round_, p, (parks, _sport), code = await voting_round_with_themes(
        db, ballot_rule="points", points_total=10, points_per_proposal=5
    )
    await sign_in_to_vote(client, round_, code, adult_birth_date(), "en")
    points = {f"points_{p['Outdoor gym'].id}": "4", f"points_{p['Library'].id}": "3"}
    page = await client.post(
        f"/pb/{round_.slug}/ballot",
        data=form(client, action="filter", theme=str(parks.id), **points),
    )
    assert page.status_code == 200
    assert f'<input type="hidden" name="points_{p["Outdoor gym"].id}" value="4">' in page.text
    assert f'<input type="hidden" name="points_{p["Library"].id}" value="3">' in page.text
    assert f'id="points_{p["Benches"].id}"' in page.text
    # A points field with an error stays in sight, so the voter can mend it.
    wrong = await client.post(
        f"/pb/{round_.slug}/ballot",
        data=form(client, action="filter", theme=str(parks.id), **{points_key(p): "abc"}),
    )
    assert f'id="points_{p["Library"].id}"' in wrong.text


def points_key(p) -> str:
    return f"points_{p['Library'].id}"


async def test_the_results_filter_by_theme_and_area(client, db):
    round_, p, (_parks, sport), code = await voting_round_with_themes(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date(), "en")
    chosen = [str(p["Benches"].id), str(p["Swimming hall"].id)]
    await client.post(f"/pb/{round_.slug}/cast", data=form(client, proposal=chosen))
    await move_to(db, round_, "results")
    await publish(db, round_, Settings(secret_key=TEST_SECRET).signing_seed, None)
    base = f"/pb/{round_.slug}/results?lang=en"
    whole = await client.get(base)
    assert whole.status_code == 200
    for name in p:
        assert name in whole.text
    sport_only = await client.get(f"{base}&theme={sport.id}")
    assert sport_only.status_code == 200
    assert "Outdoor gym" in sport_only.text
    assert "Swimming hall" in sport_only.text
    assert "Benches" not in sport_only.text
    assert "Library" not in sport_only.text
    city = await client.get(f"{base}&area=city")
    assert "Library" in city.text
    assert "Benches" not in city.text
    # The unfiltered page, rendered and kept, is not changed by a filtered one.
    assert "Benches" in (await client.get(base)).text
    bad = await client.get(f"{base}&theme=zzz")
    assert bad.status_code == 400
    assert "Choose one of the options." in bad.text


async def test_a_filter_on_a_ranking_ballot_keeps_the_ranks_given(client, db):
    round_, p, (parks, _sport), code = await voting_round_with_themes(
        db, ballot_rule="ranking", max_choices=3
    )
    await sign_in_to_vote(client, round_, code, adult_birth_date(), "en")
    ranks = {f"rank_{p['Outdoor gym'].id}": "1", f"rank_{p['Library'].id}": "1"}
    page = await client.post(
        f"/pb/{round_.slug}/ballot",
        data=form(client, action="filter", theme=str(parks.id), **ranks),
    )
    assert page.status_code == 200
    # Hidden by the filter, the ranks stay in the form (one per budget: both are rank 1).
    assert f'<input type="hidden" name="rank_{p["Outdoor gym"].id}" value="1">' in page.text
    assert f'<input type="hidden" name="rank_{p["Library"].id}" value="1">' in page.text
    assert f'id="rank_{p["Benches"].id}"' in page.text

"""The year view (vuosikello) and the staff's gaps: counts per month and area or type, polls and
budgeting steps in their month, staff-only events never counted on the public page, bad query
input answered with a clear message."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from app.accounts.models import Role
from app.database import utcnow
from app.events.models import EventType, OrganiserKind
from app.events.services import EventInput, create_events
from surveys.polls import services as poll_services
from tests.factories import make_area, signed_in_as
from tests.surveys.polls_factories import FRUIT, TITLE

ZONE = ZoneInfo("Europe/Helsinki")


class Grid(HTMLParser):
    """The year table's body as {row name: [(cell text, [links])] * 12} and its totals row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[str, list[str]]]] = {}
        self.totals: list[str] = []
        self._section = ""
        self._cell: list[str] | None = None
        self._links: list[str] = []
        self._row: list = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("tbody", "tfoot", "thead"):
            self._section = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell, self._links = [], []
        elif tag == "a" and self._cell is not None:
            self._links.append(attrs.get("href", ""))
        elif (tag == "span" and "visually-hidden" in (attrs.get("class") or "")) or (
            tag == "span" and self._hidden
        ):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self._row.append((" ".join("".join(self._cell).split()), self._links))
            self._cell = None
        elif tag == "span" and self._hidden:
            self._hidden -= 1
        elif tag == "tr" and self._row:
            if self._section == "tbody":
                self.rows[self._row[0][0]] = self._row[1:]
            elif self._section == "tfoot":
                self.totals = [text for text, _ in self._row[1:]]

    def handle_data(self, data):
        if self._cell is not None and not self._hidden:
            self._cell.append(data)


def grid(html: str) -> Grid:
    parser = Grid()
    parser.feed(html)
    return parser


async def an_event(
    db, start: str, *, area=None, public=True, kind=EventType.RESIDENT_EVENING, languages=("fi",)
):
    starts = dt.datetime.fromisoformat(start).replace(tzinfo=ZONE)
    await create_events(
        db,
        EventInput(
            title={"fi": "Salainen suunnitelma" if not public else "Ilta", "sv": "Evenemang"},
            event_type=kind,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2),
            languages=list(languages),
            area_id=area.id if area else None,
            organisers=[(OrganiserKind.CITY_UNIT, {"fi": "Osallisuus", "sv": "Delaktighet"})],
            is_public=public,
        ),
        zone=ZONE,
    )


async def test_the_year_shows_events_polls_and_nothing_staff_only(client, db):
    kallio = await make_area(db, "Kallio")
    vuosaari = await make_area(db, "Vuosaari")
    await an_event(db, "2025-03-04T18:00", area=kallio)
    await an_event(db, "2025-03-18T18:00", area=kallio, public=False)  # staff-only
    await an_event(db, "2025-05-20T12:00", kind=EventType.POP_UP)  # city-wide
    opens = dt.datetime(2025, 4, 10, 9, tzinfo=ZONE)
    poll = await poll_services.create_poll(
        db,
        poll_services.PollDraft(
            title=dict(TITLE),
            questions=[dict(FRUIT)],
            opens_at=opens,
            closes_at=opens + dt.timedelta(days=7),
            visibility="immediate",
            area_id=vuosaari.id,
        ),
    )
    page = await client.get("/calendar/year?year=2025&lang=fi")
    assert page.status_code == 200
    table = grid(page.text)
    assert list(table.rows) == ["Kallio", "Vuosaari", "Koko kaupunki"]
    assert table.rows["Kallio"][2][0] == "1"  # March: the staff-only event is not counted
    assert table.rows["Kallio"][2][1] == [f"/?view=month&month=2025-03&area={kallio.id}"]
    assert table.rows["Vuosaari"][3][1] == [f"/p/{poll.slug}"]  # April: the poll, in its area
    assert "Pikakysely alkaa" in table.rows["Vuosaari"][3][0]
    assert table.rows["Koko kaupunki"][4][0] == "1"  # May
    assert table.totals == ["0", "0", "1", "0", "1", "0", "0", "0", "0", "0", "0", "0"]
    assert "Salainen suunnitelma" not in page.text  # counts only: no staff-only title leaks

    by_type = grid((await client.get("/calendar/year?year=2025&by=type&lang=fi")).text)
    assert by_type.rows["Asukasilta"][2][0] == "1"
    assert by_type.rows["Pop-up"][4][0] == "1"
    # The poll has no event type: it is in its own row.
    assert by_type.rows["Pikakyselyt ja budjetointi"][3][1] == [f"/p/{poll.slug}"]

    await signed_in_as(client, db, Role.STAFF)
    staff = grid((await client.get("/staff/events/year?year=2025&lang=fi")).text)
    assert staff.rows["Kallio"][2][0] == "2"  # staff see their own events counted


async def test_bad_year_and_grouping_give_a_clear_message_and_this_year(client, db):
    this_year = utcnow().astimezone(ZONE).year
    for query, message in (
        ("year=abc", "Vuotta ei tunnistettu"),
        ("year=99999", "Vuotta ei tunnistettu"),
        ("year=%D9%A2%D9%A0%D9%A2%D9%A5", "Vuotta ei tunnistettu"),  # Arabic-Indic digits
        ("year=1999", "Vuotta ei tunnistettu"),
        ("by=%3Cscript%3E", "Ryhmittelyä ei tunnistettu"),
    ):
        page = await client.get(f"/calendar/year?{query}&lang=fi")
        assert page.status_code == 400, query
        assert message in page.text
        assert f"Vuosi {this_year} yhdellä silmäyksellä" in page.text
        assert "<script>" not in page.text


async def test_staff_see_the_areas_months_and_languages_with_nothing_planned(client, db):
    busy = await make_area(db, "Kallio")
    idle = await make_area(db, "Vuosaari")
    today = utcnow().astimezone(ZONE)
    month = today.replace(day=15, hour=12, minute=0, second=0, microsecond=0)
    for _ in range(6):
        await an_event(db, month.strftime("%Y-%m-%dT%H:%M"), area=busy, languages=("fi", "sv"))
        month = (month + dt.timedelta(days=31)).replace(day=15)
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/events/year?lang=en")
    assert page.status_code == 200
    gaps = page.text.split('id="gaps-title"')[1]
    assert "<strong>Vuosaari</strong>" in gaps
    assert "<strong>Kallio</strong>" not in gaps
    assert "Months with nothing planned" not in gaps  # Kallio has something every month
    english = gaps.split("English:")[1][:200]
    assert "no event yet" in english
    assert idle.id != busy.id


async def test_the_public_year_is_not_the_staff_page(client, db):
    response = await client.get("/staff/events/year")
    assert response.status_code in (302, 303)
    assert "/staff/login" in response.headers["location"]

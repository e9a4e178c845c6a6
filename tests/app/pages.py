"""Every page of Tori, rendered: the routes come from the router (the authorization table), the
objects behind them are real, so each page shows what it shows to people, not a 404.

Used by the tests that check all pages at once: valid HTML, Finland's date formats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence

from httpx import Response

from app.events import registers
from surveys import drafts
from tests.app.test_authorization import SKIP, TABLE, make_world
from tests.conftest import TEST_SECRET
from tests.factories import make_area, make_event
from tests.pictures import picture_row
from tests.surveys.factories import answer, open_questionnaire
from tests.voting.test_pb_audit import published_round
from voting import milestones
from voting.models import Proposal
from voting.notifications import unsubscribe_token

LANGUAGES = ("fi", "sv", "en")
CONTENT_ONLY_LANGUAGES = ("ar", "uk", "fi-x-selko", "ru", "et", "so", "fa", "zh")


def is_document(response: Response) -> bool:
    """A whole HTML page (not an htmx fragment, a file or a redirect)."""
    return response.headers.get("content-type", "").startswith("text/html") and (
        response.text.lstrip()[:15].lower() == "<!doctype html>"
    )


async def every_page(
    client,
    db,
    *,
    with_forms: bool = False,
    anonymous: bool = False,
    extra_paths: Sequence[str] = (),
) -> AsyncIterator[tuple[str, Response]]:
    """(label, response) for every GET route in fi, sv and en, read by a client that is
    resident, voter, kiosk and admin at once, with a round in voting and a published one, a poll
    with a kiosk and an event whose questionnaire has answers. With `with_forms`, every form
    route is also sent an empty form (in Finnish), so that forms shown again with their errors
    come too; with `anonymous`, the public pages again without any cookie. `extra_paths` are
    read in every language too."""
    world = await make_world(db, client, "resident", "voter", "kiosk", "admin")
    world.real_staff_ids = True
    area = await make_area(db, "Tapiola")
    event = await make_event(db, area=area, languages=["fi", "sv"])
    questionnaire = await open_questionnaire(db, event)
    for number in range(3):
        await answer(db, questionnaire, {"satisfaction": 3 + number % 2, "comment": "Hyvä"})
    published, proposals, _receipts = await published_round(db)
    # Pictures on the proposal list and page, the ballot, the staff page and the results cards.
    await picture_row(db, int(world.values["proposal"]))
    await picture_row(db, proposals["park"].id)
    # A winning proposal with milestones: the public pages and the staff pages that show them.
    winner = min(await milestones.selected_ids(db, published.id))
    step = await milestones.add_milestone(
        db,
        await db.get(Proposal, winner),
        milestones.MilestoneDraft(
            dt.date(2027, 3, 15),
            {"fi": "Penkit tilattu.\nAsennus maaliskuussa.", "sv": "Bänkarna beställda."},
            40,
            "in_progress",
            cost_so_far=12_500,
        ),
    )
    # A draft of the next standard questionnaire: the editor, a question and the previews.
    await drafts.start_draft(db)
    # An event type the administrators added, on an event of its own; the event's organiser
    # from the register.
    added_type = await registers.add_event_type(db, {"fi": "Kävelykierros", "en": "Walking tour"})
    await make_event(db, area=area, event_type=added_type.key)
    extra_pages = [
        "/staff/questionnaire",
        "/staff/questionnaire/draft/questions/comment",
        "/staff/questionnaire/draft/questions/satisfaction",
        "/staff/questionnaire/draft/preview/sv",
        "/staff/feedback?group=version",
        f"/staff/organisers/{event.organisers[0].organiser_id}",
        f"/staff/event-types/{added_type.id}",
        "/?type=walking_tour",
        "/calendar/year?by=type",
        f"/staff/events/{event.id}/feedback",
        f"/f/{questionnaire.slug}",
        "/staff/feedback?group=month",
        "/staff/feedback?group=language",
        "/staff/feedback?group=event",
        "/?view=month",
        f"/pb/{published.slug}",
        f"/pb/{published.slug}/results",
        f"/pb/{published.slug}/log",
        f"/staff/pb/{published.id}",
        f"/staff/pb/{published.id}/results",
        f"/staff/pb/{published.id}/audit",
        f"/pb/{published.slug}/implementation",
        f"/pb/{published.slug}/proposals/{winner}",
        f"/staff/pb/{published.id}/proposals/{winner}",
        f"/staff/pb/{published.id}/proposals/{winner}/milestones/{step.id}",
        # The unsubscribe page of a genuine link (the world's resident), and its answer.
        f"/account/unsubscribe?t={unsubscribe_token(TEST_SECRET, 1, 'review')}",
        "/account/unsubscribed?scope=all",
        # The theme and area filter (voting/places.py), and a filter value that is no option.
        f"/pb/{world.values['round']}/proposals?theme={world.values['theme_id']}&area=city",
        f"/pb/{world.values['round']}/proposals?theme=zzz",
        f"/pb/{world.values['round']}/ballot?theme={world.values['theme_id']}",
        *extra_paths,
    ]
    routes = sorted(key for key in TABLE if key not in SKIP)
    get_paths = [world.path(key) for key in routes if key.startswith("GET ")] + extra_pages
    for language in LANGUAGES:
        await client.get(f"/?lang={language}")
        for path in get_paths:
            yield f"{language} {path}", await client.get(path)
    # The questionnaire in the added content languages: right to left in Arabic, the interface
    # in English (Arabic, Persian, the others) or Finnish (selkosuomi) with lang on every part.
    for language in CONTENT_ONLY_LANGUAGES:
        yield (
            f"{language} /f/{questionnaire.slug}",
            await client.get(f"/f/{questionnaire.slug}?lang={language}"),
        )
    await client.get("/?lang=fi")
    if with_forms:
        await client.get("/?lang=fi")
        token = client.cookies["tori_csrf"]
        for key in routes:
            if key.startswith("POST "):
                path = world.path(key)
                yield f"post {path}", await client.post(path, data={"_csrf_token": token})
    if anonymous:
        client.cookies.clear()
        for language in LANGUAGES:
            await client.get(f"/?lang={language}")
            for key in routes:
                if key.startswith("GET ") and not key.startswith("GET /staff"):
                    path = world.path(key)
                    yield f"anonymous {language} {path}", await client.get(path)

"""How the surveys package plugs into Tori (see app/features.py)."""

from pathlib import Path

from litestar import Litestar

from app.database import utcnow
from app.features import Feature, Highlight, Milestone
from app.i18n import N_
from surveys import services as feedback_services
from surveys.commands import COMMANDS
from surveys.controllers import FeedbackController
from surveys.demo import seed_feedback
from surveys.editor import QuestionnaireEditorController
from surveys.equal_access_pages import EqualAccessController
from surveys.kit import KitController, StaffKitController
from surveys.opendata import DATASETS as OPEN_DATA
from surveys.polls import services as poll_services
from surveys.polls.controllers import KioskStartController, PollController
from surveys.polls.demo import seed_polls
from surveys.polls.live import POLL_NOTIFIER
from surveys.polls.staff import StaffPollsController
from surveys.report import feedback_summary
from surveys.retention import remove_old_comments
from surveys.staff import CompareController, EventFeedbackController


async def open_poll_highlights(session) -> list[Highlight]:
    return [
        Highlight(
            kind=N_("Quick poll"), title=poll.title, url=f"/p/{poll.slug}", closes_at=poll.closes_at
        )
        for poll in await poll_services.open_polls(session)
    ]


async def open_for_event(session, event_id: int) -> list[Highlight]:
    """The event's feedback questionnaire and polls, only while they are open: the event page
    links to them for residents who did not scan the QR code."""
    now = utcnow()
    found = []
    questionnaire = await feedback_services.questionnaire_for_event(session, event_id)
    status = questionnaire and feedback_services.questionnaire_status(questionnaire, now)
    if status == feedback_services.QuestionnaireStatus.OPEN:
        found.append(
            Highlight(
                kind=N_("Feedback questionnaire"),
                title=questionnaire.event.title,
                url=f"/f/{questionnaire.slug}",
                closes_at=questionnaire.closes_at,
            )
        )
    found += [
        Highlight(
            kind=N_("Quick poll"), title=poll.title, url=f"/p/{poll.slug}", closes_at=poll.closes_at
        )
        for poll in await poll_services.open_polls(session, now, event_id=event_id)
    ]
    return found


async def poll_milestones(session, start, end) -> list[Milestone]:
    """Polls that open within the window, for the calendar's dates and the year view."""
    return [
        Milestone(
            kind=N_("A quick poll opens"),
            title=poll.title,
            url=f"/p/{poll.slug}",
            at=poll.opens_at,
            area_id=poll.area_id,
        )
        for poll in await poll_services.polls_opening_between(session, start, end)
    ]


async def seed_surveys(session, settings) -> str:
    return "\n".join([await seed_feedback(session, settings), await seed_polls(session, settings)])


async def stop_live_results(app: Litestar) -> None:
    notifier = POLL_NOTIFIER.get(app)
    if notifier is not None:
        await notifier.close()


feature = Feature(
    event_report=feedback_summary,
    open_data=OPEN_DATA,
    name="surveys",
    template_directories=(Path(__file__).parent / "templates",),
    route_handlers=(
        FeedbackController,
        CompareController,
        EqualAccessController,
        EventFeedbackController,
        QuestionnaireEditorController,
        PollController,
        KioskStartController,
        StaffPollsController,
        KitController,
        StaffKitController,
    ),
    staff_links=(
        (N_("Compare feedback"), "/staff/feedback"),
        (N_("Equal access: whom we reach"), "/staff/feedback/equal-access"),
        (N_("Polls"), "/staff/polls"),
    ),
    event_links=(
        (N_("Feedback questionnaire"), "/staff/events/{id}/feedback"),
        (N_("Pop-up kit"), "/staff/events/{id}/kit"),
    ),
    model_modules=("surveys.models", "surveys.polls.models"),
    seed_demo=seed_surveys,
    commands=COMMANDS,
    retention=remove_old_comments,
    privacy_sections=("surveys/privacy.html",),
    highlights=open_poll_highlights,
    event_activities=open_for_event,
    milestones=poll_milestones,
    on_shutdown=(stop_live_results,),
)

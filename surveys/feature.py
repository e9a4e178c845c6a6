"""How the surveys package plugs into Tori (see app/features.py)."""

from app.features import Feature
from app.i18n import N_
from surveys.commands import COMMANDS
from surveys.controllers import FeedbackController
from surveys.demo import seed_feedback
from surveys.staff import CompareController, EventFeedbackController

feature = Feature(
    name="surveys",
    route_handlers=(FeedbackController, CompareController, EventFeedbackController),
    staff_links=((N_("Compare feedback"), "/staff/feedback"),),
    event_links=((N_("Feedback questionnaire"), "/staff/events/{id}/feedback"),),
    model_modules=("surveys.models",),
    seed_demo=seed_feedback,
    commands=COMMANDS,
)

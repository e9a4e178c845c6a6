"""The feedback questionnaire's part of an event's public card ("you said – we did"): how many
answered and, from 5 answers up, the means of the 1–5 questions and the share who would take
part again. The same comparison staff use, so the figures agree; free-text answers never."""

from __future__ import annotations

from app.areas.services import list_areas
from app.disclosure import MIN_GROUP_SIZE, too_few_to_show
from app.events.report import ReportSection
from surveys import services
from surveys.comparison import ComparisonFilter, compare

SUMMARY_SCALES = ("satisfaction", "heard", "learned_met", "wellbeing")
AGAIN = "again"


async def feedback_summary(session, event, settings) -> list[ReportSection]:
    comparison = await compare(
        session,
        ComparisonFilter(event_ids=(event.id,)),
        "event",
        zone=settings.timezone,
        areas=await list_areas(session),
    )
    group = next((g for g in comparison.groups if g.key == str(event.id)), None)
    if group is None or not group.responses:
        return []
    questions = {question.key: question for question in comparison.questions}
    means = []
    again = None
    # While answers still come in, each reading of the means would give the latest answer away
    # (the difference of two means): the figures wait until the questionnaire has closed.
    questionnaire = await services.questionnaire_for_event(session, event.id)
    open_until = (
        questionnaire.closes_at
        if questionnaire is not None
        and services.questionnaire_status(questionnaire) != services.QuestionnaireStatus.CLOSED
        else None
    )
    if not group.suppressed and open_until is None:
        for key in SUMMARY_SCALES:
            summary = group.numeric(key)
            # Each figure needs 5 answers of its own, not only 5 answers to the questionnaire.
            if summary is not None and key in questions and not too_few_to_show(summary.n):
                means.append((questions[key], summary))
        shares = group.shares(AGAIN, ("yes", "no"), multiple=False) if AGAIN in questions else None
        yes = dict(shares).get("yes") if shares else None
        if yes is not None and not too_few_to_show(yes.n):
            again = yes
    return [
        ReportSection(
            "surveys/_event_report.html",
            {
                "responses": group.responses,
                "suppressed": group.suppressed,
                "minimum": MIN_GROUP_SIZE,
                "means": means,
                "again": again,
                "again_question": questions.get(AGAIN),
                "open_until": open_until,
            },
        )
    ]

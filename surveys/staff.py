"""Staff pages of the feedback questionnaire: per-event forms and results, comparison, exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from app.accounts.guards import EDITORS, signed_in_staff
from app.areas.models import Area
from app.areas.services import list_areas
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError, NotFoundError
from app.events.models import OrganiserKind, event_type_label
from app.events.registers import event_type_labels, event_type_options, list_organisers
from app.events.services import get_event
from app.forms import Form, read_form
from app.i18n import N_, Formatter, gettext, language_name, localized
from app.off_loop import in_worker_thread
from app.requests import site_url
from app.spreadsheets import csv_chunks, csv_text
from app.state import DATABASE
from surveys import services
from surveys.comparison import (
    GROUPINGS,
    ComparisonFilter,
    compare,
    is_numeric,
    language_drifts,
)
from surveys.definitions import DefinitionError, parse_question
from surveys.exports import (
    answer_rows,
    column_labels,
    labelled,
    monitoring_rows,
    response_columns,
    response_rows,
)
from surveys.forms import (
    EXTRA_TYPES,
    read_extra_question,
    read_filters,
    read_settings,
    settings_form,
)
from surveys.xlsx import workbook

TYPE_LABELS = {
    "scale5": N_("Scale 1–5"),
    "scale10": N_("Scale 0–10"),
    "yes_no": N_("Yes or no"),
    "single": N_("One choice"),
    "multiple": N_("Several choices"),
    "short_text": N_("Short text"),
    "long_text": N_("Long text"),
    "score100": N_("Score 0–100"),
}
EXPORT_KINDS = ("monitoring", "answers", "responses")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX_RESPONSES = 200_000


def group_labels(
    comparison,
    areas: list[Area],
    events: dict[int, str],
    formatter: Formatter,
    type_names: dict[str, str] | None = None,
) -> dict[str, str]:
    """`type_names`: every event type's name by key (app.events.registers.event_type_labels),
    the added ones too; without it, the built-in ones."""
    labels: dict[str, str] = {}
    names = {str(area.id): localized(area.name) for area in areas}
    for group in comparison.groups:
        key = group.key
        if comparison.grouping == "type":
            labels[key] = (type_names or {}).get(key) or event_type_label(key)
        elif comparison.grouping == "area":
            labels[key] = names.get(key, gettext("Whole city"))
        elif comparison.grouping == "language":
            labels[key] = language_name(key)
        elif comparison.grouping == "event":
            labels[key] = events.get(int(key), key) if key.isdecimal() else key
        elif comparison.grouping == "none":
            labels[key] = gettext("All chosen events")
        elif comparison.grouping == "version":
            labels[key] = (
                gettext("Version %(number)s") % {"number": key}
                if key
                else gettext("No questionnaire")
            )
        elif comparison.grouping == "month" and key[:4].isdecimal():
            labels[key] = formatter.month(key)
        else:
            labels[key] = key
    return labels


async def event_titles(session, comparison, formatter: Formatter) -> dict[int, str]:
    if comparison.grouping != "event":
        return {}
    ids = [int(group.key) for group in comparison.groups if group.key.isdecimal()]
    return {
        event_id: f"{localized(title)} ({formatter.date(starts_at)})"
        for event_id, (title, starts_at) in (await services.event_names(session, ids)).items()
    }


class CompareController(Controller):
    path = "/staff/feedback"
    guards = [signed_in_staff]

    @get("/", name="feedback_compare")
    async def dashboard(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        areas = await list_areas(db_session)
        types = await event_type_options(db_session, retired=True)
        organisers = await list_organisers(db_session)
        filters, grouping, problems = read_filters(
            request, areas, [t.key for t in types], [o.id for o in organisers]
        )
        await services.fold_off_the_request(db_session, DATABASE.of(request).engine)
        comparison = await compare(
            db_session, filters, grouping, zone=settings.timezone, areas=areas
        )
        formatter = Formatter(settings.timezone)
        titles = await event_titles(db_session, comparison, formatter)
        labels = group_labels(comparison, areas, titles, formatter, {t.key: t.label for t in types})
        return Template(
            template_name="surveys/compare.html",
            context={
                "comparison": comparison,
                "drifts": language_drifts(comparison),
                "labels": labels,
                "areas": areas,
                "filters": filters,
                "grouping": grouping,
                "groupings": GROUPINGS,
                "event_types": types,
                "organisers": organisers,
                "organiser_kinds": list(OrganiserKind),
                "problems": problems,
                "is_numeric": is_numeric,
                "type_labels": TYPE_LABELS,
                "query_string": request.url.query,
            },
            status_code=400 if problems else 200,
        )

    @get("/export/{filename:str}")
    async def export(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        filename: FromPath[str],
    ) -> Response:
        kind, fmt = export_name(filename)
        areas = await list_areas(db_session)
        type_names = await event_type_labels(db_session)
        organisers = await list_organisers(db_session)
        filters, grouping, _problems = read_filters(
            request, areas, list(type_names), [o.id for o in organisers]
        )
        return await export_response(
            request, db_session, settings, filters, grouping, kind, fmt, areas
        )


EXPORT_FORMATS = ("csv", "sheet.csv", "xlsx")


def export_name(filename: str) -> tuple[str, str]:
    """`monitoring.csv` (for machines), `monitoring.sheet.csv` (for spreadsheets), `.xlsx`."""
    kind, _dot, fmt = filename.partition(".")
    if kind not in EXPORT_KINDS or fmt not in EXPORT_FORMATS:
        raise NotFoundError(N_("No such export."))
    return kind, fmt


async def export_response(
    request, db_session, settings, filters, grouping, kind, fmt, areas, extra_questions=()
) -> Response:
    """A machine CSV has the stable keys; the spreadsheet CSV and the workbook are for people:
    labels in the staff member's language (the workbook keeps the keys in a second row)."""
    stem = f"tori-feedback-{kind}-{dt.datetime.now(dt.UTC).date().isoformat()}"
    filename = f"{stem}.{fmt.replace('sheet.csv', 'spreadsheet.csv')}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    for_people = fmt != "csv"
    if kind == "responses":
        catalogue_comparison = await compare(
            db_session,
            ComparisonFilter(event_ids=(-1,)),
            "none",
            zone=settings.timezone,
            areas=areas,
        )
        questions = [*catalogue_comparison.questions, *extra_questions]
        columns = await response_columns(DATABASE.of(request).sessionmaker, questions)
        rows = response_rows(
            DATABASE.of(request).sessionmaker, filters, columns, zone=settings.timezone
        )
        if for_people:
            header = await anext(rows)
            rows = _with_header(rows, column_labels(header, questions))
        if fmt != "xlsx":
            return Stream(
                csv_chunks(rows, for_spreadsheet=for_people),
                media_type="text/csv",
                headers=disposition,
            )
        collected = [header]
        async for row in rows:
            collected.append(row)
            if len(collected) > MAX_XLSX_RESPONSES:
                raise DomainError(N_("Too many responses for a spreadsheet; download them as CSV."))
        collected[0], collected[1] = collected[1], collected[0]  # labels first, then the keys
        # Zipping a workbook of 100,000 rows takes seconds: in a worker thread.
        book = await in_worker_thread(workbook, [("responses", collected)])
        return Response(book, media_type=XLSX_TYPE, headers=disposition)
    await services.fold_off_the_request(db_session, DATABASE.of(request).engine)
    comparison = await compare(
        db_session,
        filters,
        grouping,
        zone=settings.timezone,
        areas=areas,
        extra_questions=list(extra_questions),
    )
    tables = {"monitoring": monitoring_rows(comparison), "answers": answer_rows(comparison)}
    if fmt == "csv":
        return Response(csv_text(tables[kind]), media_type="text/csv", headers=disposition)
    formatter = Formatter(settings.timezone)
    titles = await event_titles(db_session, comparison, formatter)
    names = group_labels(comparison, areas, titles, formatter, await event_type_labels(db_session))
    if fmt == "sheet.csv":
        return Response(
            csv_text(labelled(tables[kind], names, keys_row=False), for_spreadsheet=True),
            media_type="text/csv",
            headers=disposition,
        )
    return Response(
        await in_worker_thread(
            workbook,
            [(sheet, labelled(rows, names, keys_row=True)) for sheet, rows in tables.items()],
        ),
        media_type=XLSX_TYPE,
        headers=disposition,
    )


async def _with_header(rows: AsyncIterator[list], labels: list[str]) -> AsyncIterator[list]:
    yield labels
    async for row in rows:
        yield row


class EventFeedbackController(Controller):
    """One event's questionnaire: link, QR code and poster, extra questions, results and answers."""

    path = "/staff/events/{event_id:int}/feedback"
    guards = [signed_in_staff]

    async def _page(
        self, request, db_session, settings, event_id, *, form=None, question_form=None, status=200
    ) -> Template:
        zone = ZoneInfo(settings.timezone)
        event = await get_event(db_session, event_id)
        questionnaire = await services.questionnaire_for_event(db_session, event.id)
        areas = await list_areas(db_session)
        context = {
            "event": event,
            "questionnaire": questionnaire,
            "instruments": await services.list_instruments(db_session),
            "form": form or settings_form(questionnaire, event, zone),
            "question_form": question_form or Form.prefilled({"type": "scale5"}),
            "extra_types": EXTRA_TYPES,
            "type_labels": TYPE_LABELS,
            "is_numeric": is_numeric,
        }
        if questionnaire:
            extra = [parse_question(q, "extra") for q in questionnaire.extra_questions]
            await services.fold_off_the_request(db_session, DATABASE.of(request).engine)
            comparison = await compare(
                db_session,
                ComparisonFilter(event_ids=(event.id,)),
                "none",
                zone=settings.timezone,
                areas=areas,
                extra_questions=extra,
            )
            search = request.query_params.get("q", "").strip()[:100]
            context.update(
                comparison=comparison,
                group=comparison.groups[0] if comparison.groups else None,
                responses=await services.response_count(db_session, questionnaire.id),
                texts=await services.text_answers(db_session, questionnaire, search=search),
                search=search,
                public_url=site_url(request, f"/f/{questionnaire.slug}"),
                state=services.questionnaire_status(questionnaire),
                extra_questions=extra,
            )
        return Template(
            template_name="surveys/event_feedback.html", context=context, status_code=status
        )

    @get("/")
    async def page(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        event_id: FromPath[int],
    ) -> Template:
        return await self._page(request, db_session, settings, event_id)

    @post("/", opt={"roles": EDITORS}, status_code=303)
    async def save(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        event_id: FromPath[int],
    ) -> Template | Redirect:
        event = await get_event(db_session, event_id)
        form = Form(await read_form(request))
        instruments = [str(i.id) for i in await services.list_instruments(db_session)]
        data = read_settings(form, ZoneInfo(settings.timezone), instruments)
        if data is not None:
            try:
                existing = await services.questionnaire_for_event(db_session, event.id)
                if existing:
                    await services.update_questionnaire(db_session, existing, data)
                else:
                    await services.create_questionnaire(db_session, event, data)
            except DomainError as error:
                form.add_error("closes_date", error.translated())
            else:
                return Redirect(
                    path=f"/staff/events/{event.id}/feedback",
                    query_params={"done": "saved"},
                    status_code=303,
                )
        return await self._page(request, db_session, settings, event_id, form=form, status=400)

    @post("/questions", opt={"roles": EDITORS}, status_code=303)
    async def add_question(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        event_id: FromPath[int],
    ) -> Template | Redirect:
        questionnaire = await services.questionnaire_for_event(db_session, event_id)
        if questionnaire is None:
            raise NotFoundError(N_("No such questionnaire."))
        form = Form(await read_form(request))
        data = read_extra_question(form)
        if data is not None:
            try:
                await services.add_extra_question(db_session, questionnaire, data)
            except (DomainError, DefinitionError) as error:
                form.add_error(
                    "type",
                    error.translated()
                    if isinstance(error, DomainError)
                    else gettext("The question could not be added."),
                )
            else:
                return Redirect(
                    path=f"/staff/events/{event_id}/feedback",
                    query_params={"done": "question"},
                    status_code=303,
                )
        return await self._page(
            request, db_session, settings, event_id, question_form=form, status=400
        )

    @post("/questions/{key:str}/delete", opt={"roles": EDITORS}, status_code=303)
    async def remove_question(
        self, db_session: DbSession, event_id: FromPath[int], key: FromPath[str]
    ) -> Redirect:
        questionnaire = await services.questionnaire_for_event(db_session, event_id)
        if questionnaire is None:
            raise NotFoundError(N_("No such questionnaire."))
        await services.remove_extra_question(db_session, questionnaire, key)
        return Redirect(path=f"/staff/events/{event_id}/feedback", status_code=303)

    @get("/export/{filename:str}")
    async def export(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        event_id: FromPath[int],
        filename: FromPath[str],
    ) -> Response:
        kind, fmt = export_name(filename)
        questionnaire = await services.questionnaire_for_event(db_session, event_id)
        if questionnaire is None:
            raise NotFoundError(N_("No such questionnaire."))
        extra = [parse_question(q, "extra") for q in questionnaire.extra_questions]
        areas = await list_areas(db_session)
        return await export_response(
            request,
            db_session,
            settings,
            ComparisonFilter(event_ids=(event_id,)),
            "none",
            kind,
            fmt,
            areas,
            extra,
        )

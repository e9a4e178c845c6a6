"""Staff pages of voting-code letters: the batches of a round, issuing a batch as printable
letters or as the mailing file, and printing a lost batch again (see voting/letters.py)."""

from __future__ import annotations

from functools import partial

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from app.accounts.guards import EDITORS, current_user, signed_in_staff
from app.areas.services import list_areas
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError, NotFoundError
from app.forms import Form, read_form
from app.i18n import Formatter, gettext
from voting import letters, rounds
from voting.exports import codes_csv
from voting.models import Round
from voting.roll import IssuedCode, issue_letter_codes


async def _help_default(db_session, settings, round_: Round) -> str:
    latest = await letters.latest_help_contact(db_session, round_)
    return latest if latest is not None else settings.contact_email


async def letters_page(
    db_session,
    settings,
    round_: Round,
    *,
    form: Form | None = None,
    reprint_error: tuple[int, str] | None = None,
    status: int = 200,
) -> Template:
    if form is None:
        form = Form.prefilled(
            {
                "languages": letters.DEFAULT_LETTER_LANGUAGES,
                "help_contact": await _help_default(db_session, settings, round_),
            }
        )
    return Template(
        template_name="pb/staff_letters.html",
        context={
            "round": round_,
            "batches": await letters.list_batches(db_session, round_),
            "form": form,
            "language_options": [
                (value, gettext(label)) for value, label in letters.LETTER_LANGUAGES.items()
            ],
            "reprint_error": reprint_error,
            "voting_closed": rounds.phase_of(round_) in ("counting", "results"),
        },
        status_code=status,
    )


def printed_letters(
    request: Request,
    settings,
    round_: Round,
    issued: list[IssuedCode],
    areas: dict,
    *,
    number: int | None,
    languages: str,
    help_contact: str,
    reprint: bool = False,
) -> Template:
    chosen = letters.letter_languages(languages)
    base_url = str(request.base_url)
    address = letters.vote_address(base_url, round_)
    return Template(
        template_name="pb/staff_letters_print.html",
        context={
            "round": round_,
            "number": number,
            "reprint": reprint,
            "texts": letters.letter_texts(
                round_, chosen, help_contact, address, Formatter(settings.timezone)
            ),
            "letters": letters.build_letters(round_, issued, areas, base_url, chosen),
            "languages": chosen,
        },
    )


async def issue_letters(
    request: Request, db_session, settings, round_id: int
) -> Response | Template:
    """POST /staff/pb/{round_id}/codes: the next batch, as printable letters or as CSV."""
    round_ = await rounds.get_round(db_session, round_id)
    form = Form(await read_form(request))
    output = form.choice("format", ["csv", "sheet"], required=False) or "csv"
    choice = form.choice("languages", letters.LETTER_LANGUAGES, required=False)
    help_contact = form.text("help_contact", max_length=letters.HELP_CONTACT_LENGTH)
    if not form.is_valid:
        return await letters_page(db_session, settings, round_, form=form, status=400)
    if "help_contact" not in form.data:
        help_contact = await _help_default(db_session, settings, round_)
    languages = choice or letters.DEFAULT_LETTER_LANGUAGES
    issued = await issue_letter_codes(
        db_session, round_, languages=languages, help_contact=help_contact
    )
    areas = {area.id: area for area in await list_areas(db_session)}
    if output == "sheet":
        return printed_letters(
            request,
            settings,
            round_,
            issued,
            areas,
            number=issued[0].batch if issued else None,
            languages=languages,
            help_contact=help_contact,
        )
    return Response(
        codes_csv(
            issued,
            areas,
            partial(
                letters.letter_url,
                str(request.base_url),
                round_,
                languages=letters.letter_languages(languages),
            ),
        ),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="tori-codes-{round_.slug}.csv"'},
    )


class StaffLettersController(Controller):
    path = "/staff/pb"
    guards = [signed_in_staff]

    @get("/{round_id:int}/letters", opt={"roles": EDITORS}, name="staff_pb_letters")
    async def batches(
        self, db_session: DbSession, settings: AppSettings, round_id: FromPath[int]
    ) -> Template:
        round_ = await rounds.get_round(db_session, round_id)
        return await letters_page(db_session, settings, round_)

    @post("/{round_id:int}/letters/{number:int}/reprint", opt={"roles": EDITORS}, status_code=200)
    async def reprint(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
        number: FromPath[int],
    ) -> Template:
        """New codes for the batch's recipients who have not voted; their old codes stop."""
        round_ = await rounds.get_round(db_session, round_id)
        form = Form(await read_form(request))
        seen = form.integer("reprints", required=True, minimum=0, maximum=1_000_000)
        if not form.is_valid:
            message = next(iter(form.errors.values()))
            return await letters_page(
                db_session, settings, round_, reprint_error=(number, message), status=400
            )
        try:
            done = await letters.reprint_batch(
                db_session, round_, number, seen, actor=current_user(request)
            )
        except DomainError as error:
            await db_session.rollback()
            db_session.expunge_all()
            round_ = await rounds.get_round(db_session, round_id)
            status = 404 if isinstance(error, NotFoundError) else 409
            return await letters_page(
                db_session,
                settings,
                round_,
                reprint_error=(number, error.translated()),
                status=status,
            )
        areas = {area.id: area for area in await list_areas(db_session)}
        return printed_letters(
            request,
            settings,
            round_,
            done.issued,
            areas,
            number=number,
            languages=done.batch.languages,
            help_contact=done.batch.help_contact,
            reprint=True,
        )

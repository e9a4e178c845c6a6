"""The staff pages of the registers beside the events: organisers (staff add, rename, retire and
merge them) and the event types that administrators add to the built-in ones."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import ADMINS, EDITORS, signed_in_staff
from app.dependencies import DbSession
from app.errors import DomainError
from app.events import registers
from app.events.models import AddedEventType, Organiser, OrganiserKind
from app.form_posts import handle_post
from app.forms import Form, read_form

NAME_LENGTH = 200


def read_organiser(form: Form) -> registers.OrganiserInput | None:
    kind = form.choice("kind", [kind.value for kind in OrganiserKind])
    name = form.translated_text("name", required=True, max_length=NAME_LENGTH)
    if not form.is_valid or kind is None:
        return None
    return registers.OrganiserInput(OrganiserKind(kind), name)


def organiser_form(organiser: Organiser | None) -> Form:
    if organiser is None:
        return Form.prefilled({})
    values: dict[str, object] = {"kind": organiser.kind}
    values.update({f"name_{code}": text for code, text in organiser.name.items()})
    return Form.prefilled(values)


def type_form(added: AddedEventType | None) -> Form:
    return Form.prefilled(
        {f"name_{code}": text for code, text in (added.name if added else {}).items()}
    )


def read_type_name(form: Form, _added: AddedEventType | None = None) -> dict[str, str] | None:
    name = form.translated_text("name", required=True, max_length=NAME_LENGTH)
    return name if form.is_valid else None


async def _nothing() -> None:
    """What a form that adds a new entry acts on."""


def _back(path: str, done: str) -> Redirect:
    return Redirect(path=path, query_params={"done": done}, status_code=303)


class OrganisersController(Controller):
    path = "/staff/organisers"
    guards = [signed_in_staff]

    async def _page(
        self, db_session, form: Form, organiser: Organiser | None, status: int = 200
    ) -> Template:
        others = []
        if organiser is not None:
            others = [
                other
                for other in await registers.list_organisers(db_session, retired=False)
                if other.id != organiser.id
            ]
        return Template(
            template_name="events/organiser_form.html",
            context={
                "form": form,
                "organiser": organiser,
                "kinds": list(OrganiserKind),
                "others": others,
                "events": (await registers.organiser_event_counts(db_session)).get(organiser.id, 0)
                if organiser
                else 0,
            },
            status_code=status,
        )

    @get("/")
    async def list_organisers(self, db_session: DbSession) -> Template:
        return Template(
            template_name="events/organisers.html",
            context={
                "organisers": await registers.list_organisers(db_session),
                "counts": await registers.organiser_event_counts(db_session),
            },
        )

    @get("/new", opt={"roles": EDITORS})
    async def new_organiser_page(self, db_session: DbSession) -> Template:
        return await self._page(db_session, organiser_form(None), None)

    @post("/new", opt={"roles": EDITORS}, status_code=303)
    async def create_organiser(
        self, request: Request, db_session: DbSession
    ) -> Template | Response:
        return await handle_post(
            request,
            db_session,
            load=_nothing,
            read=lambda form, _: read_organiser(form),
            act=lambda _, data: registers.create_organiser(db_session, data),
            done=lambda *_: _back("/staff/organisers", "added"),
            again=lambda _, form: self._page(db_session, form, None, 400),
        )

    @get("/{organiser_id:int}", opt={"roles": EDITORS})
    async def edit_organiser_page(
        self, db_session: DbSession, organiser_id: FromPath[int]
    ) -> Template:
        organiser = await registers.get_organiser(db_session, organiser_id)
        return await self._page(db_session, organiser_form(organiser), organiser)

    @post("/{organiser_id:int}", opt={"roles": EDITORS}, status_code=303)
    async def rename_organiser(
        self, request: Request, db_session: DbSession, organiser_id: FromPath[int]
    ) -> Template | Response:
        return await handle_post(
            request,
            db_session,
            load=lambda: registers.get_organiser(db_session, organiser_id),
            read=lambda form, _: read_organiser(form),
            act=lambda organiser, data: registers.rename_organiser(db_session, organiser, data),
            done=lambda *_: _back("/staff/organisers", "saved"),
            again=lambda organiser, form: self._page(db_session, form, organiser, 400),
        )

    @post("/{organiser_id:int}/retire", opt={"roles": EDITORS}, status_code=303)
    async def retire_organiser(
        self, request: Request, db_session: DbSession, organiser_id: FromPath[int]
    ) -> Template | Redirect:
        """`retired=on` retires the organiser, `retired=off` offers it again."""
        organiser = await registers.get_organiser(db_session, organiser_id)
        form = Form(await read_form(request))
        try:
            await registers.set_organiser_retired(
                db_session, organiser, retired=form.raw("retired") != "off"
            )
        except DomainError as error:
            shown = organiser_form(organiser)
            shown.add_error("form", error.translated())
            return await self._page(db_session, shown, organiser, 409)
        return _back("/staff/organisers", "saved")

    @post("/{organiser_id:int}/merge", opt={"roles": EDITORS}, status_code=303)
    async def merge_organiser(
        self, request: Request, db_session: DbSession, organiser_id: FromPath[int]
    ) -> Template | Redirect:
        organiser = await registers.get_organiser(db_session, organiser_id)
        form = Form(await read_form(request))
        others = await registers.list_organisers(db_session, retired=False)
        into = form.choice("into", [str(other.id) for other in others if other.id != organiser.id])
        if into is not None:
            try:
                await registers.merge_organiser(db_session, organiser, int(into))
            except DomainError as error:
                form.add_error("into", error.translated())
            else:
                return _back("/staff/organisers", "merged")
        shown = organiser_form(organiser)
        for name, message in form.errors.items():
            shown.add_error(name, message)
        return await self._page(db_session, shown, organiser, 400)


class EventTypesController(Controller):
    """The built-in event types and those administrators added; staff read the list."""

    path = "/staff/event-types"
    guards = [signed_in_staff]

    def _page(self, form: Form, added: AddedEventType | None, status: int = 200) -> Template:
        return Template(
            template_name="events/event_type_form.html",
            context={"form": form, "added": added},
            status_code=status,
        )

    @get("/")
    async def list_types(self, db_session: DbSession) -> Template:
        options = await registers.event_type_options(db_session, retired=True)
        added = {added.key: added for added in await registers.list_added_types(db_session)}
        return Template(
            template_name="events/event_types.html",
            context={"options": options, "added": added},
        )

    @get("/new", opt={"roles": ADMINS})
    async def new_type_page(self) -> Template:
        return self._page(type_form(None), None)

    @post("/new", opt={"roles": ADMINS}, status_code=303)
    async def add_type(self, request: Request, db_session: DbSession) -> Template | Response:
        return await handle_post(
            request,
            db_session,
            load=_nothing,
            read=read_type_name,
            act=lambda _, name: registers.add_event_type(db_session, name),
            done=lambda *_: _back("/staff/event-types", "added"),
            again=lambda _, form: self._page(form, None, 400),
        )

    @get("/{type_id:int}", opt={"roles": ADMINS})
    async def edit_type_page(self, db_session: DbSession, type_id: FromPath[int]) -> Template:
        added = await registers.get_added_type(db_session, type_id)
        return self._page(type_form(added), added)

    @post("/{type_id:int}", opt={"roles": ADMINS}, status_code=303)
    async def rename_type(
        self, request: Request, db_session: DbSession, type_id: FromPath[int]
    ) -> Template | Response:
        return await handle_post(
            request,
            db_session,
            load=lambda: registers.get_added_type(db_session, type_id),
            read=read_type_name,
            act=lambda added, name: registers.rename_event_type(db_session, added, name),
            done=lambda *_: _back("/staff/event-types", "saved"),
            again=lambda added, form: self._page(form, added, 400),
        )

    @post("/{type_id:int}/retire", opt={"roles": ADMINS}, status_code=303)
    async def retire_type(
        self, request: Request, db_session: DbSession, type_id: FromPath[int]
    ) -> Redirect:
        """`retired=on` stops offering the type for new events, `retired=off` offers it again."""
        added = await registers.get_added_type(db_session, type_id)
        form = Form(await read_form(request))
        await registers.set_event_type_retired(
            db_session, added, retired=form.raw("retired") != "off"
        )
        return _back("/staff/event-types", "saved")

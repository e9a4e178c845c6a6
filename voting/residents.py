"""Resident accounts for proposing ideas: e-mail and password (argon2), a confirmation link,
and a signed session cookie. Voting never uses these accounts."""

from __future__ import annotations

import logging
import time

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from app.accounts.services import (
    MAX_PASSWORD_LENGTH,
    LoginFailedError,
    LoginThrottledError,
    SignInGuard,
    normalise_email,
    password_problem,
)
from app.database import utcnow
from app.dependencies import AppSettings, DbSession
from app.errors import ForbiddenError
from app.forms import Form, read_form
from app.i18n import N_, gettext
from app.requests import client_address, local_path
from app.signing import sign, unsign
from voting.models import Proposal, Resident, Round
from voting.rounds import PROPOSAL_STATUSES

log = logging.getLogger("tori.residents")
RESIDENT_COOKIE = "tori_resident"
SESSION_SECONDS = 14 * 24 * 3600
CONFIRM_SECONDS = 3 * 24 * 3600


def sign_in_first(then: str) -> Redirect:
    """To the resident sign-in, and back to `then` afterwards."""
    return Redirect(path="/account/sign-in", query_params={"next": then}, status_code=303)


def session_cookie(settings, resident: Resident) -> Cookie:
    expires = int(time.time()) + SESSION_SECONDS
    value = sign(
        settings.secret_key, "resident", f"{resident.id}.{resident.session_generation}.{expires}"
    )
    return Cookie(
        key=RESIDENT_COOKIE,
        value=value,
        httponly=True,
        samesite="lax",
        secure=settings.https,
        path="/",
        max_age=SESSION_SECONDS,
    )


async def current_resident(request: Request, session: AsyncSession, secret: str) -> Resident | None:
    value = unsign(secret, "resident", request.cookies.get(RESIDENT_COOKIE), max_length=200)
    if not value:
        return None
    try:
        resident_id, generation, expires = (int(part) for part in value.split("."))
    except ValueError:
        return None
    if expires < time.time():
        return None
    resident = await session.get(Resident, resident_id)
    if resident is None or resident.session_generation != generation:
        return None
    return resident


def confirmation_token(secret: str, resident: Resident) -> str:
    expires = int(time.time()) + CONFIRM_SECONDS
    return sign(secret, "resident-confirm", f"{resident.id}.{resident.email}.{expires}")


async def confirm(session: AsyncSession, secret: str, token: str) -> Resident | None:
    value = unsign(secret, "resident-confirm", token, max_length=600)
    if not value:
        return None
    resident_id, _, rest = value.partition(".")
    email, _, expires = rest.rpartition(".")
    if not resident_id.isdecimal() or not expires.isdecimal() or int(expires) < time.time():
        return None
    resident = await session.get(Resident, int(resident_id))
    if resident is None or resident.email != email:
        return None
    if resident.confirmed_at is None:
        resident.confirmed_at = utcnow()
        await session.commit()
    return resident


def resident_guard(request: Request) -> SignInGuard:
    state = request.app.state
    return SignInGuard(limiter=state.limiter, secret=state.settings.secret_key, purpose="resident")


class ResidentAccountController(Controller):
    path = "/account"

    @get("/register", name="resident_register")
    async def register_page(self, request: Request) -> Template:
        target = local_path(request.query_params.get("next"), "/pb")
        return Template(
            template_name="pb/register.html",
            context={"form": Form(), "next": target, "sent": False},
        )

    @post("/register", status_code=200)
    async def register(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        form = Form(await read_form(request))
        email = form.email("email")
        name = form.text("display_name", required=True, max_length=80)
        password = form.raw("password")
        target = local_path(form.raw("next"), "/pb")
        if not password:
            form.add_error("password", gettext("This field is required."))
        elif problem := password_problem(password, email):
            form.add_error("password", gettext(problem))
        elif password != form.raw("password_again"):
            form.add_error("password_again", gettext("The passwords do not match."))
        if form.is_valid:
            existing = await db_session.scalar(select(Resident).where(Resident.email == email))
            if existing is None:
                resident = Resident(
                    email=email,
                    display_name=name,
                    password_hash=await hash_password(password),
                    session_generation=1,
                )
                db_session.add(resident)
                try:
                    await db_session.commit()
                except IntegrityError:
                    await db_session.rollback()
                    resident = None
                if resident is not None:
                    self._send_confirmation(request, settings, resident, target)
            # The same answer whether or not the address had an account: no one can probe
            # which addresses are registered.
            return Template(
                template_name="pb/register.html",
                context={"form": Form(), "next": target, "sent": True, "email": email},
            )
        return Template(
            template_name="pb/register.html",
            context={"form": form, "next": target, "sent": False},
            status_code=400,
        )

    @staticmethod
    def _send_confirmation(request: Request, settings, resident: Resident, target: str) -> None:
        token = confirmation_token(settings.secret_key, resident)
        link = f"{str(request.base_url).rstrip('/')}/account/confirm?t={token}&next={target}"
        if settings.is_production:
            # No mailer is configured in this version: the link is not logged in production.
            log.warning("resident %s registered; e-mail delivery is not configured", resident.id)
        else:
            log.info("Confirmation link for resident %s (development only): %s", resident.id, link)

    @get("/confirm", name="resident_confirm")
    async def confirm_page(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        token = request.query_params.get("t", "")
        resident = await confirm(db_session, settings.secret_key, token)
        return Template(
            template_name="pb/confirmed.html",
            context={
                "resident": resident,
                "next": local_path(request.query_params.get("next"), "/pb"),
            },
            status_code=200 if resident else 400,
        )

    @get("/sign-in", name="resident_sign_in")
    async def sign_in_page(self, request: Request) -> Template:
        return Template(
            template_name="pb/sign_in.html",
            context={"form": Form(), "next": local_path(request.query_params.get("next"), "/pb")},
        )

    @post("/sign-in", status_code=303)
    async def sign_in(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        form = Form(await read_form(request))
        email = form.email("email")
        password = form.raw("password")
        target = local_path(form.raw("next"), "/pb")
        status = 400
        if not password:
            form.add_error("password", gettext("This field is required."))
        elif len(password) > MAX_PASSWORD_LENGTH:
            form.add_error("form", gettext("The e-mail address or password is wrong."))
        if form.is_valid:
            guard = resident_guard(request)
            address = client_address(request)
            try:
                resident = await authenticate_resident(db_session, guard, email, password, address)
            except LoginThrottledError as error:
                form.add_error("form", error.translated())
                status = 429
            except LoginFailedError as error:
                form.add_error("form", error.translated())
            else:
                return Redirect(
                    path=target, status_code=303, cookies=[session_cookie(settings, resident)]
                )
        return Template(
            template_name="pb/sign_in.html",
            context={"form": form, "next": target},
            status_code=status,
        )

    @get("/", name="resident_account")
    async def account(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        resident = await current_resident(request, db_session, settings.secret_key)
        if resident is None:
            return sign_in_first("/account")
        return await self._account_page(db_session, resident, Form())

    @staticmethod
    async def _account_page(db_session, resident: Resident, form: Form, status: int = 200):
        return Template(
            template_name="pb/account.html",
            context={
                "resident": resident,
                "ideas": await ideas_of(db_session, resident),
                "form": form,
                "statuses": PROPOSAL_STATUSES,
            },
            status_code=status,
        )

    @get("/data.json", name="resident_data")
    async def data(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Response | Redirect:
        """Everything the account holds, as a file (the right of access and to portability)."""
        resident = await current_resident(request, db_session, settings.secret_key)
        if resident is None:
            return sign_in_first("/account")
        return Response(
            content=await account_data(db_session, resident),
            media_type=MediaType.JSON,
            headers={
                "Content-Disposition": 'attachment; filename="tori-account.json"',
                "Cache-Control": "no-store",
            },
        )

    @post("/delete", status_code=200)
    async def delete(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        """Delete the account after the password is given again (the right to erasure)."""
        resident = await current_resident(request, db_session, settings.secret_key)
        if resident is None:
            # As for any resident's form sent without a session: refused, with the reason.
            raise ForbiddenError(N_("Sign in to manage your account."))
        form = Form(await read_form(request))
        password = form.raw("password")
        status = 400
        if not password:
            form.add_error("password", gettext("This field is required."))
        elif len(password) > MAX_PASSWORD_LENGTH:
            form.add_error("password", gettext("The password is wrong."))
        else:
            try:
                await authenticate_resident(
                    db_session,
                    resident_guard(request),
                    resident.email,
                    password,
                    client_address(request),
                )
            except LoginThrottledError as error:
                form.add_error("form", error.translated())
                status = 429
            except LoginFailedError:
                form.add_error("password", gettext("The password is wrong."))
            else:
                await delete_account(db_session, resident)
                response = Template(template_name="pb/account_deleted.html")
                response.delete_cookie(RESIDENT_COOKIE, path="/")
                return response
        return await self._account_page(db_session, resident, form, status)

    @post("/sign-out", status_code=303)
    async def sign_out(self) -> Redirect:
        response = Redirect(path="/pb", status_code=303)
        response.delete_cookie(RESIDENT_COOKIE, path="/")
        return response


async def ideas_of(session: AsyncSession, resident: Resident) -> list[tuple[Proposal, Round]]:
    rows = await session.execute(
        select(Proposal, Round)
        .join(Round, Round.id == Proposal.round_id)
        .where(Proposal.author_id == resident.id)
        .order_by(Proposal.id)
    )
    return [(proposal, round_) for proposal, round_ in rows.all()]


async def account_data(session: AsyncSession, resident: Resident) -> dict:
    """The account and every idea sent from it, as the resident may download them."""

    def moment(value):
        return value.isoformat() if value else None

    return {
        "account": {
            "email": resident.email,
            "name": resident.display_name,
            "created": moment(resident.created_at),
            "confirmed": moment(resident.confirmed_at),
        },
        "ideas": [
            {
                "round": round_.slug,
                "round_title": round_.title,
                "title": proposal.title,
                "description": proposal.description,
                "area_id": proposal.area_id,
                "estimated_cost": proposal.estimated_cost,
                "status": proposal.status,
            }
            for proposal, round_ in await ideas_of(session, resident)
        ],
        "note": "Votes are not linked to accounts: the service cannot show how or whether you voted.",
    }


async def delete_account(session: AsyncSession, resident: Resident) -> None:
    """Ideas not yet reviewed go with the account; reviewed ones stay, no longer linked to
    anyone, since they are already part of a round's public record."""
    await session.execute(
        delete(Proposal).where(Proposal.author_id == resident.id, Proposal.status == "submitted")
    )
    await session.execute(
        update(Proposal).where(Proposal.author_id == resident.id).values(author_id=None)
    )
    await session.delete(resident)
    await session.commit()
    log.info("a resident account was deleted at its owner's request")


async def authenticate_resident(
    session: AsyncSession, guard: SignInGuard, email: str, password: str, address: str
) -> Resident:
    await guard.check(email, address)
    resident = await session.scalar(
        select(Resident).where(Resident.email == normalise_email(email))
    )
    if resident is None:
        await verify_password(DUMMY_HASH, password)
    if resident is None or not await verify_password(resident.password_hash, password):
        await guard.record_failure(email, address)
        raise LoginFailedError(N_("The e-mail address or password is wrong."))
    if resident.confirmed_at is None:
        raise LoginFailedError(
            N_("Confirm your e-mail address first: open the link in the message we sent.")
        )
    if needs_rehash(resident.password_hash):
        resident.password_hash = await hash_password(password)
        await session.commit()
    await guard.clear_account(email)
    return resident

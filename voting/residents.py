"""Resident accounts' pages: registering, confirming, signing in and out, the account page, its
download and its deletion (the rules and the session are in voting/resident_accounts.py)."""

from __future__ import annotations

import logging

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.response import Redirect, Template

from app.accounts.reset_pages import password_reset_controller
from app.accounts.services import (
    MAX_PASSWORD_LENGTH,
    LoginFailedError,
    LoginThrottledError,
    password_problem,
)
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError, ForbiddenError
from app.forms import Form, read_form
from app.i18n import N_, current_language, gettext
from app.media import MediaStore
from app.requests import client_address, local_path, site_url
from app.security import FORM_TOKEN_CHECKED_BY_HANDLER, form_token_accepted
from app.state import LIMITER, SETTINGS
from voting.email_change import EmailChangeLinkError, confirm_email_change, request_email_change
from voting.identified import is_identified
from voting.identify import start_identification
from voting.models import Resident
from voting.notifications import (
    ALL,
    KIND_LABELS,
    Kind,
    read_unsubscribe_token,
    set_opt_out,
    unsubscribe,
    unsubscribe_token,
    wants,
)
from voting.oidc import IdentificationError
from voting.password_reset import RESIDENT, ResetThrottledError, mail_allowed
from voting.resident_accounts import (
    RESIDENT_COOKIE,
    ConfirmationThrottledError,
    LinkState,
    RegistrationThrottledError,
    UnconfirmedAddressError,
    account_data,
    authenticate_resident,
    change_resident_password,
    confirm,
    current_resident,
    delete_account,
    end_every_resident_session,
    end_resident_session,
    ideas_of,
    register_resident,
    registration_guard,
    resident_guard,
    send_confirmation_again,
    session_cookie,
    session_token,
    sign_in_first,
    start_resident_session,
)
from voting.rounds import ALL_STATUSES

log = logging.getLogger("tori.residents")


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
        status = 400
        if form.is_valid:

            def mail_gate():
                return mail_allowed(
                    LIMITER.of(request),
                    settings.secret_key,
                    "register-mail",
                    email,
                    client_address(request),
                )

            try:
                await register_resident(
                    db_session,
                    registration_guard(request),
                    client_address(request),
                    email,
                    name,
                    password,
                    secret=settings.secret_key,
                    site_url=site_url(request, ""),
                    next_path=target,
                    language=current_language(),
                    mail_gate=mail_gate,
                )
            except (RegistrationThrottledError, ResetThrottledError) as error:
                message = (
                    error.translated()
                    if isinstance(error, RegistrationThrottledError)
                    else gettext("Too many tries. Wait an hour and try again.")
                )
                form.add_error("form", message)
                return Template(
                    template_name="pb/register.html",
                    context={"form": form, "next": target, "sent": False},
                    status_code=429,
                )
            # The same answer whether or not the address had an account: no one can probe
            # which addresses are registered.
            return Template(
                template_name="pb/register.html",
                context={"form": Form(), "next": target, "sent": True, "email": email},
            )
        return Template(
            template_name="pb/register.html",
            context={"form": form, "next": target, "sent": False},
            status_code=status,
        )

    @get("/confirm", name="resident_confirm")
    async def confirm_page(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        """Opening the link only asks (link scanners open links); the button confirms."""
        token = request.query_params.get("t", "")
        state, _ = await confirm(db_session, settings.secret_key, token, apply=False)
        return self._confirmed(state, token, request.query_params.get("next"))

    @post("/confirm", status_code=200)
    async def confirm_address(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        form = Form(await read_form(request))
        token = form.raw("t")
        state, _ = await confirm(db_session, settings.secret_key, token)
        return self._confirmed(state, token, form.raw("next"))

    @staticmethod
    def _confirmed(state: LinkState, token: str, next_path: str | None) -> Template:
        usable = state in (LinkState.VALID, LinkState.CONFIRMED, LinkState.ALREADY_CONFIRMED)
        return Template(
            template_name="pb/confirmed.html",
            context={
                "state": state.value,
                "token": token,
                "next": local_path(next_path, "/pb"),
            },
            status_code=200 if usable else 400,
        )

    @get("/confirm/again", name="resident_confirm_again")
    async def confirm_again_page(self, request: Request) -> Template:
        target = local_path(request.query_params.get("next"), "/pb")
        return self._confirm_again(Form(), target)

    @post("/confirm/again", status_code=200)
    async def confirm_again(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        """A new confirmation link by e-mail: the same answer whatever the address."""
        form = Form(await read_form(request))
        email = form.email("email")
        target = local_path(form.raw("next"), "/pb")
        if not form.is_valid:
            return self._confirm_again(form, target, status=400)
        try:
            await send_confirmation_again(
                db_session,
                LIMITER.of(request),
                secret=settings.secret_key,
                email=email,
                network_address=client_address(request),
                site_url=site_url(request, ""),
                next_path=target,
                language=current_language(),
            )
        except ConfirmationThrottledError as error:
            form.add_error("form", error.translated())
            return self._confirm_again(form, target, status=429)
        return self._confirm_again(Form(), target, sent=email)

    @staticmethod
    def _confirm_again(form: Form, target: str, *, sent: str = "", status: int = 200):
        return Template(
            template_name="pb/confirm_again.html",
            context={"form": form, "next": target, "sent": sent},
            status_code=status,
        )

    @get("/sign-in", name="resident_sign_in")
    async def sign_in_page(self, request: Request, settings: AppSettings) -> Template:
        return Template(
            template_name="pb/sign_in.html",
            context={
                "form": Form(),
                "next": local_path(request.query_params.get("next"), "/pb"),
                "unconfirmed": False,
                "oidc": settings.oidc_configured,
            },
        )

    @post("/identify", status_code=303)
    async def identify(self, request: Request, settings: AppSettings) -> Redirect:
        """Strong identification instead of an e-mail account, to send ideas
        (voting/identified.py); the provider sends the resident back to `next`."""
        if not settings.oidc_configured:
            raise IdentificationError(N_("Strong identification is not in use."))
        form = Form(await read_form(request))
        target = local_path(form.raw("next"), "/pb")
        return await start_identification(request, settings, {"ideas": target})

    @post("/sign-in", status_code=303)
    async def sign_in(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        form = Form(await read_form(request))
        email = form.email("email")
        password = form.raw("password")
        target = local_path(form.raw("next"), "/pb")
        status = 400
        unconfirmed = False
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
            except UnconfirmedAddressError as error:
                form.add_error("form", error.translated())
                unconfirmed = True
            except LoginFailedError as error:
                form.add_error("form", error.translated())
            else:
                # A session this browser had before (another account's, say) ends here.
                await end_resident_session(db_session, session_token(request))
                token = await start_resident_session(db_session, resident)
                return Redirect(
                    path=target, status_code=303, cookies=[session_cookie(settings, token)]
                )
        return Template(
            template_name="pb/sign_in.html",
            context={
                "form": form,
                "next": target,
                "unconfirmed": unconfirmed,
                "oidc": settings.oidc_configured,
            },
            status_code=status,
        )

    @get("/", name="resident_account")
    async def account(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        resident = await current_resident(request, db_session)
        if resident is None:
            return sign_in_first("/account")
        return await self._account_page(
            db_session, resident, Form(), done=request.query_params.get("done")
        )

    @staticmethod
    async def _account_page(
        db_session,
        resident: Resident,
        form: Form,
        status: int = 200,
        *,
        password_form: Form | None = None,
        done: str | None = None,
        notices_form: Form | None = None,
    ):
        wanted = [kind.value for kind in Kind if wants(resident, kind)]
        return Template(
            template_name="pb/account.html",
            context={
                "resident": resident,
                "identified": is_identified(resident),
                "ideas": await ideas_of(db_session, resident),
                "form": form,
                "password_form": password_form or Form(),
                "password_changed": done == "password",
                "statuses": ALL_STATUSES,
                "notices_form": notices_form or Form.prefilled({"wanted": wanted}),
                "notice_kinds": KIND_LABELS,
            },
            status_code=status,
        )

    @post("/notifications", status_code=303)
    async def notifications(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        """Which notices about the resident's ideas are mailed (none ticked: none at all)."""
        resident = await current_resident(request, db_session)
        if resident is None:
            raise ForbiddenError(N_("Sign in to manage your account."))
        form = Form(await read_form(request))
        wanted = form.choices("wanted", [kind.value for kind in Kind])
        if not form.is_valid:
            return await self._account_page(db_session, resident, Form(), 400, notices_form=form)
        await set_opt_out(
            db_session, resident, [kind.value for kind in Kind if kind.value not in wanted]
        )
        return Redirect(path="/account", query_params={"done": "notifications"}, status_code=303)

    @get("/data.json", name="resident_data")
    async def data(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Response | Redirect:
        """Everything the account holds, as a file (the right of access and to portability)."""
        resident = await current_resident(request, db_session)
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
        resident = await current_resident(request, db_session)
        if resident is None:
            # As for any resident's form sent without a session: refused, with the reason.
            raise ForbiddenError(N_("Sign in to manage your account."))
        form = Form(await read_form(request))
        status: int | None = 400
        if is_identified(resident):
            # No password to give again: the resident ticks the box instead.
            if not form.boolean("confirm"):
                form.add_error("confirm", gettext("Tick the box to confirm."))
            else:
                return await self._deleted(request, db_session, resident)
        else:
            status = await _password_refused(request, db_session, resident, form, "password")
            if status is None:
                return await self._deleted(request, db_session, resident)
        return await self._account_page(db_session, resident, form, status)

    @staticmethod
    async def _deleted(request: Request, db_session, resident: Resident) -> Template:
        await delete_account(db_session, resident, MediaStore(SETTINGS.of(request).media_dir))
        response = Template(template_name="pb/account_deleted.html")
        response.delete_cookie(RESIDENT_COOKIE, path="/")
        return response

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request, db_session: DbSession) -> Redirect:
        """This browser's session ends on the server too: a copy of the cookie opens nothing."""
        await end_resident_session(db_session, session_token(request))
        response = Redirect(path="/pb", status_code=303)
        response.delete_cookie(RESIDENT_COOKIE, path="/")
        return response

    @post("/sign-out-everywhere", status_code=303)
    async def sign_out_everywhere(self, request: Request, db_session: DbSession) -> Redirect:
        """Every browser signed in to this account is signed out (a lost phone, a shared computer)."""
        resident = await current_resident(request, db_session)
        if resident is None:
            raise ForbiddenError(N_("Sign in to manage your account."))
        await end_every_resident_session(db_session, resident.id)
        await db_session.commit()
        response = Redirect(
            path="/account/sign-in", query_params={"done": "signed-out"}, status_code=303
        )
        response.delete_cookie(RESIDENT_COOKIE, path="/")
        return response

    @post("/password", status_code=303)
    async def change_password(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        """A new password, after the current one: every other browser is signed out."""
        resident = await current_resident(request, db_session)
        if resident is None:
            raise ForbiddenError(N_("Sign in to manage your account."))
        if is_identified(resident):
            raise ForbiddenError(
                N_("You sign in with strong identification: there is no password.")
            )
        form = Form(await read_form(request))
        current = form.raw("current_password")
        new = form.raw("new_password")
        if not new:
            form.add_error("new_password", gettext("This field is required."))
        elif problem := password_problem(new, resident.email):
            form.add_error("new_password", gettext(problem))
        elif new != form.raw("new_password_again"):
            form.add_error("new_password_again", gettext("The passwords do not match."))
        elif new == current:
            form.add_error(
                "new_password",
                gettext("Choose a new password that differs from the current one."),
            )
        status = await _password_refused(request, db_session, resident, form, "current_password")
        if status is None:
            await change_resident_password(db_session, resident, new)
            token = await start_resident_session(db_session, resident)
            return Redirect(
                path="/account/",
                query_params={"done": "password"},
                status_code=303,
                cookies=[session_cookie(settings, token)],
            )
        return await self._account_page(db_session, resident, Form(), status, password_form=form)


async def _password_refused(
    request: Request, db_session, resident: Resident, form: Form, field: str
) -> int | None:
    """The resident's own password given again in `field`, checked as a sign-in is (its attempts
    limited) once the rest of the form is valid: None when it is right; otherwise the form's
    error and the status to answer (429 while the attempts are throttled, else 400)."""
    password = form.raw(field)
    if not password:
        form.add_error(field, gettext("This field is required."))
    elif len(password) > MAX_PASSWORD_LENGTH:
        form.add_error(field, gettext("The password is wrong."))
    if not form.is_valid:
        return 400
    try:
        await authenticate_resident(
            db_session, resident_guard(request), resident.email, password, client_address(request)
        )
    except LoginThrottledError as error:
        form.add_error("form", error.translated())
        return 429
    except LoginFailedError:
        form.add_error(field, gettext("The password is wrong."))
        return 400
    return None


# A forgotten password: a link by e-mail, then a new password (voting/password_reset.py).
ResidentPasswordController = password_reset_controller(RESIDENT)


class ResidentEmailController(Controller):
    """A new e-mail address for the account, confirmed from that address
    (the rules are in voting/email_change.py)."""

    path = "/account/email"

    @get("/", name="resident_email")
    async def page(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        resident = await current_resident(request, db_session)
        if resident is None:
            return sign_in_first("/account/email")
        return Template(
            template_name="pb/email_change.html",
            context={
                "form": Form(),
                "resident": resident,
                "sent": False,
                "identified": is_identified(resident),
            },
        )

    @post("/", status_code=200)
    async def change(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        resident = await current_resident(request, db_session)
        if resident is None:
            raise ForbiddenError(N_("Sign in to manage your account."))
        form = Form(await read_form(request))
        new_email = form.email("new_email")
        password = form.raw("password")
        identified = is_identified(resident)
        status = 400
        if identified:
            pass  # signed in through the identity provider: no password to give
        elif not password:
            form.add_error("password", gettext("This field is required."))
        elif len(password) > MAX_PASSWORD_LENGTH:
            form.add_error("password", gettext("The password is wrong."))
        if form.is_valid:
            try:
                if not identified:
                    await authenticate_resident(
                        db_session,
                        resident_guard(request),
                        resident.email,
                        password,
                        client_address(request),
                    )
                # The new address is typed by the requester: it shares every mail form's limits.
                send_mail = await mail_allowed(
                    LIMITER.of(request),
                    settings.secret_key,
                    "email-change-mail",
                    new_email,
                    client_address(request),
                )
                await request_email_change(
                    db_session,
                    resident,
                    new_email=new_email,
                    secret=settings.secret_key,
                    site_url=site_url(request, ""),
                    language=current_language(),
                    send_mail=send_mail,
                )
            except (LoginThrottledError, ResetThrottledError) as error:
                form.add_error("form", error.translated())
                status = 429
            except LoginFailedError:
                form.add_error("password", gettext("The password is wrong."))
            except DomainError as error:
                form.add_error("new_email", error.translated())
            else:
                return Template(
                    template_name="pb/email_change.html",
                    context={
                        "form": Form(),
                        "resident": resident,
                        "sent": True,
                        "email": new_email,
                        "identified": identified,
                    },
                )
        return Template(
            template_name="pb/email_change.html",
            context={"form": form, "resident": resident, "sent": False, "identified": identified},
            status_code=status,
        )

    @get("/confirm", name="resident_email_confirm")
    async def confirm(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        try:
            resident = await confirm_email_change(
                db_session,
                settings.secret_key,
                request.query_params.get("t", ""),
                site_url(request, ""),
                keep_session=session_token(request),
            )
        except EmailChangeLinkError:
            return Template(
                template_name="pb/email_changed.html", context={"resident": None}, status_code=400
            )
        return Template(template_name="pb/email_changed.html", context={"resident": resident})


class UnsubscribeController(Controller):
    """Turning notices off from the link in a message, without signing in. Opening the link
    (GET) only asks: link scanners open links. The page's button is a POST with the form token;
    the List-Unsubscribe header's one-click POST (RFC 8058: the body
    `List-Unsubscribe=One-Click`, from a mail client, with no cookie) needs none, the signed
    token in the address being the proof."""

    path = "/account"

    @get("/unsubscribe", name="resident_unsubscribe")
    async def page(self, request: Request, settings: AppSettings) -> Template:
        token = request.query_params.get("t", "")
        return self._page(settings.secret_key, token)

    @staticmethod
    def _page(secret: str, token: str, error: str | None = None, status: int = 200) -> Template:
        found = read_unsubscribe_token(secret, token)
        context = {"valid": found is not None, "error": error, "token": token}
        if found is not None:
            resident_id, scope = found
            context |= {
                "scope": scope,
                "label": KIND_LABELS.get(scope),
                "all_token": unsubscribe_token(secret, resident_id, ALL),
            }
        return Template(
            template_name="pb/unsubscribe.html",
            context=context,
            # A refused form token is answered 403 whatever the token; else a bad token is 400.
            status_code=status if found is not None or error else 400,
        )

    @post("/unsubscribe", status_code=303, opt=FORM_TOKEN_CHECKED_BY_HANDLER)
    async def unsubscribe(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        fields = await read_form(request)
        token = (fields.get("t") or [""])[0] or request.query_params.get("t", "")
        one_click = fields.get("List-Unsubscribe") == ["One-Click"]
        if not one_click and not form_token_accepted(request, fields):
            return self._page(
                settings.secret_key,
                token,
                gettext("The form had expired, so nothing was changed. Press the button again."),
                403,
            )
        scope = await unsubscribe(db_session, settings.secret_key, token)
        if scope is None:
            return self._page(settings.secret_key, token)
        if one_click:
            return Template(
                template_name="pb/unsubscribe.html",
                context={"done": True, "scope": scope},
                status_code=200,
            )
        return Redirect(
            path="/account/unsubscribed", query_params={"scope": scope}, status_code=303
        )

    @get("/unsubscribed", name="resident_unsubscribed")
    async def done(self, request: Request) -> Template:
        scope = request.query_params.get("scope", "")
        return Template(
            template_name="pb/unsubscribe.html",
            context={"done": True, "scope": scope if scope in {ALL, *Kind} else ALL},
        )

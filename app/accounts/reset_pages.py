"""The "forgot your password?" and "choose a new password" pages of a kind of account
(the rules are in app/accounts/password_reset.py; one template pair, accounts/forgot.html and
accounts/reset.html, serves every kind)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from app.accounts.password_reset import (
    AccountKind,
    ResetLinkError,
    ResetThrottledError,
    account_for_token,
    request_reset,
    reset_password,
)
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError
from app.forms import Form, read_form
from app.i18n import current_language, gettext
from app.requests import client_address, site_url
from app.state import LIMITER


def password_reset_controller(kind: AccountKind) -> type[Controller]:
    """The two pages, at {kind.path}/forgot and {kind.path}/reset."""

    def forgot_page(form: Form, *, sent: bool = False, email: str = "", status: int = 200):
        context = {"kind": kind, "form": form, "sent": sent, "email": email}
        return Template(template_name="accounts/forgot.html", context=context, status_code=status)

    def reset_page(form: Form, token: str, *, token_ok: bool = True, status: int = 200):
        context = {"kind": kind, "form": form, "token": token[:300], "token_ok": token_ok}
        return Template(template_name="accounts/reset.html", context=context, status_code=status)

    class PasswordResetController(Controller):
        path = kind.path

        @get("/forgot", name=f"{kind.name}_forgot")
        async def ask_page(self) -> Template:
            return forgot_page(Form())

        @post("/forgot", status_code=200)
        async def ask(
            self, request: Request, db_session: DbSession, settings: AppSettings
        ) -> Template:
            form = Form(await read_form(request))
            email = form.email("email")
            if not form.is_valid:
                return forgot_page(form, status=400)
            try:
                await request_reset(
                    db_session,
                    LIMITER.of(request),
                    kind,
                    secret=settings.secret_key,
                    email=email,
                    network_address=client_address(request),
                    site_url=site_url(request, ""),
                    language=current_language(),
                )
            except ResetThrottledError as error:
                form.add_error("form", error.translated())
                return forgot_page(form, status=429)
            # The same answer whether or not the address has an account.
            return forgot_page(Form(), sent=True, email=email)

        @get("/reset", name=f"{kind.name}_reset")
        async def choose_page(
            self, request: Request, db_session: DbSession, settings: AppSettings
        ) -> Template:
            token = request.query_params.get("t", "")
            try:
                await account_for_token(db_session, kind, settings.secret_key, token)
            except ResetLinkError:
                return reset_page(Form(), token, token_ok=False, status=400)
            return reset_page(Form(), token)

        @post("/reset", status_code=303)
        async def choose(
            self, request: Request, db_session: DbSession, settings: AppSettings
        ) -> Template | Redirect:
            form = Form(await read_form(request))
            token = form.raw("t")
            name = kind.choice_field
            password = form.raw(name)
            if not password:
                form.add_error(name, gettext("This field is required."))
            elif password != form.raw(f"{name}_again"):
                form.add_error(f"{name}_again", gettext("The passwords do not match."))
            if not form.is_valid:
                return reset_page(form, token, status=400)
            try:
                await reset_password(db_session, kind, settings.secret_key, token, password)
            except ResetLinkError:
                return reset_page(Form(), token, token_ok=False, status=400)
            except DomainError as error:
                form.add_error(name, error.translated())
                return reset_page(form, token, status=400)
            response = Redirect(
                path=kind.sign_in_path, query_params={"done": "reset"}, status_code=303
            )
            response.delete_cookie(kind.session_cookie, path="/")
            return response

    PasswordResetController.__name__ = f"{kind.name.title()}PasswordResetController"
    return PasswordResetController

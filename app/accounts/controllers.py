from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts import services
from app.accounts.guards import ADMINS, READERS, current_user, signed_in_staff
from app.accounts.middleware import SESSION_COOKIE
from app.accounts.models import Role
from app.accounts.password_reset import STAFF
from app.accounts.reset_pages import password_reset_controller
from app.cookies import private_cookie
from app.dependencies import AppSettings, DbSession, SignInGuardDependency
from app.errors import DomainError
from app.forms import Form, read_form
from app.i18n import gettext
from app.requests import client_address, local_path


class SignInController(Controller):
    path = "/staff"

    @get("/login", name="login")
    async def login_page(self, request: Request) -> Template | Redirect:
        target = local_path(request.query_params.get("next"), "/staff")
        if current_user(request) is not None:
            return Redirect(path=target, status_code=303)
        return Template(
            template_name="accounts/login.html", context={"form": Form(), "next": target}
        )

    @post("/login", status_code=303)
    async def login(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        sign_in_guard: SignInGuardDependency,
    ) -> Template | Redirect:
        form = Form(await read_form(request))
        email = form.email("email")
        password = form.raw("password")
        if not password:
            form.add_error("password", gettext("This field is required."))
        elif len(password) > services.MAX_PASSWORD_LENGTH:
            form.add_error("password", gettext("The e-mail address or password is wrong."))
        target = local_path(form.raw("next"), "/staff")
        status = 400
        if form.is_valid:
            try:
                user = await services.authenticate(
                    db_session, sign_in_guard, email, password, client_address(request)
                )
            except services.LoginThrottledError as error:
                form.add_error("form", error.translated())
                status = 429
            except services.LoginFailedError as error:
                form.add_error("form", error.translated())
            else:
                token = await services.start_session(db_session, user)
                destination = "/staff/password" if user.must_change_password else target
                return Redirect(
                    path=destination,
                    status_code=303,
                    cookies=[
                        private_cookie(
                            SESSION_COOKIE,
                            token,
                            secure=settings.https,
                            max_age=int(services.SESSION_LIFETIME.total_seconds()),
                        )
                    ],
                )
        return Template(
            template_name="accounts/login.html",
            context={"form": form, "next": target},
            status_code=status,
        )

    @post("/logout", status_code=303)
    async def logout(self, request: Request, db_session: DbSession) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await services.end_session(db_session, token)
        response = Redirect(path="/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get(
        "/password",
        guards=[signed_in_staff],
        opt={"allow_one_time_password": True, "roles": READERS},
    )
    async def password_page(self) -> Template:
        return Template(template_name="accounts/password.html", context={"form": Form()})

    @post(
        "/password",
        guards=[signed_in_staff],
        opt={"allow_one_time_password": True, "roles": READERS},
        status_code=303,
    )
    async def change_password(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = Form(await read_form(request))
        current = form.raw("current_password")
        new = form.raw("new_password")
        if not current:
            form.add_error("current_password", gettext("This field is required."))
        if not new:
            form.add_error("new_password", gettext("This field is required."))
        elif new != form.raw("new_password_again"):
            form.add_error("new_password_again", gettext("The new passwords do not match."))
        if form.is_valid:
            user = await services.get_user(db_session, current_user(request).id)
            try:
                await services.change_password(
                    db_session,
                    user,
                    current=current,
                    new=new,
                    keep_token=request.cookies.get(SESSION_COOKIE),
                )
            except DomainError as error:
                field = "current_password" if "current" in error.message else "new_password"
                form.add_error(field, error.translated())
            else:
                return Redirect(path="/staff", query_params={"done": "password"}, status_code=303)
        return Template(
            template_name="accounts/password.html", context={"form": form}, status_code=400
        )


def _role_choices() -> list[str]:
    return [role.value for role in Role]


class UsersController(Controller):
    """The admin manages staff accounts and roles."""

    path = "/staff/users"
    guards = [signed_in_staff]
    opt = {"roles": ADMINS}

    @get("/")
    async def list_users(self, db_session: DbSession) -> Template:
        users = await services.list_users(db_session)
        return Template(
            template_name="accounts/users.html", context={"users": users, "roles": list(Role)}
        )

    @get("/new")
    async def new_user_page(self) -> Template:
        return Template(
            template_name="accounts/user_form.html",
            context={
                "form": Form.prefilled({"role": Role.STAFF.value, "is_active": True}),
                "user": None,
                "roles": list(Role),
            },
        )

    @post("/new", status_code=303)
    async def create_user(self, request: Request, db_session: DbSession) -> Template:
        form = Form(await read_form(request))
        email = form.email("email")
        name = form.text("display_name", required=True, max_length=120)
        role = form.choice("role", _role_choices())
        is_active = form.boolean("is_active")
        if form.is_valid:
            try:
                user, password = await services.create_user(
                    db_session, email=email, display_name=name, role=Role(role), is_active=is_active
                )
            except DomainError as error:
                form.add_error("email", error.translated())
            else:
                return Template(
                    template_name="accounts/one_time_password.html",
                    context={"user": user, "password": password},
                    status_code=201,
                )
        return Template(
            template_name="accounts/user_form.html",
            context={"form": form, "user": None, "roles": list(Role)},
            status_code=400,
        )

    @get("/{user_id:int}")
    async def edit_user_page(self, db_session: DbSession, user_id: FromPath[int]) -> Template:
        user = await services.get_user(db_session, user_id)
        form = Form.prefilled(
            {"display_name": user.display_name, "role": user.role, "is_active": user.is_active}
        )
        return Template(
            template_name="accounts/user_form.html",
            context={"form": form, "user": user, "roles": list(Role)},
        )

    @post("/{user_id:int}", status_code=303)
    async def update_user(
        self, request: Request, db_session: DbSession, user_id: FromPath[int]
    ) -> Template | Redirect:
        user = await services.get_user(db_session, user_id)
        form = Form(await read_form(request))
        name = form.text("display_name", required=True, max_length=120)
        role = form.choice("role", _role_choices())
        is_active = form.boolean("is_active")
        if form.is_valid:
            try:
                await services.update_user(
                    db_session, user, display_name=name, role=Role(role), is_active=is_active
                )
            except DomainError as error:
                form.add_error("role", error.translated())
            else:
                return Redirect(
                    path="/staff/users", query_params={"done": "saved"}, status_code=303
                )
        return Template(
            template_name="accounts/user_form.html",
            context={"form": form, "user": user, "roles": list(Role)},
            status_code=400,
        )

    @post("/{user_id:int}/reset-password", status_code=201)
    async def reset_password(self, db_session: DbSession, user_id: FromPath[int]) -> Template:
        user = await services.get_user(db_session, user_id)
        password = await services.reset_password(db_session, user)
        return Template(
            template_name="accounts/one_time_password.html",
            context={"user": user, "password": password},
        )


# A staff member's forgotten password: a link by e-mail (app/accounts/password_reset.py).
StaffPasswordResetController = password_reset_controller(STAFF)

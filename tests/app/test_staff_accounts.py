"""An admin adds staff accounts through a real form, and no edit leaves Tori without an admin."""

import asyncio
import re

import pytest
from sqlalchemy import func, select

from app.accounts import services
from app.accounts.models import Role, User
from tests.conftest import csrf_token
from tests.factories import make_user, sign_in, signed_in_as


async def test_the_add_account_page_is_an_empty_form_for_a_new_account(client, db):
    admin = await signed_in_as(client, db, Role.ADMIN)
    page = await client.get("/staff/users/new")
    assert page.status_code == 200
    html = page.text
    # Not the signed-in admin's own edit form (it once was: action /staff/users/<id>).
    assert 'action="/staff/users/new"' in html
    assert f'action="/staff/users/{admin.id}' not in html
    assert 'id="field-email"' in html
    assert 'name="email"' in html
    assert 'value="Test Person"' not in html
    assert re.search(r'<option value="staff" selected>', html)
    assert re.search(r'id="field-is_active"[^>]*checked', html)
    assert "reset-password" not in html
    # The header still knows who is signed in.
    assert "Test Person" in html


async def test_an_admins_own_edit_form_shows_their_values(client, db):
    admin = await signed_in_as(client, db, Role.ADMIN)
    page = await client.get(f"/staff/users/{admin.id}")
    assert f'action="/staff/users/{admin.id}"' in page.text
    assert re.search(r'<option value="admin" selected>', page.text)
    assert re.search(r'id="field-is_active"[^>]*checked', page.text)


def new_account(token, **fields):
    return {
        "email": "new.person@example.fi",
        "display_name": "New Person",
        "role": "staff",
        "is_active": "on",
        "_csrf_token": token,
        **fields,
    }


async def test_an_account_added_without_enabled_cannot_sign_in(client, db):
    await signed_in_as(client, db, Role.ADMIN)
    token = await csrf_token(client, "/staff/users/new")
    data = new_account(token)
    del data["is_active"]
    response = await client.post("/staff/users/new", data=data)
    assert response.status_code == 201
    created = await db.scalar(select(User).where(User.email == "new.person@example.fi"))
    assert created.is_active is False
    assert created.must_change_password


@pytest.mark.parametrize(
    ("lang", "fields", "field", "message"),
    [
        ("fi", {"email": "not an address"}, "email", "Anna sähköpostiosoite, esimerkiksi"),
        ("sv", {"email": "not an address"}, "email", "Ange en e-postadress, till exempel"),
        ("en", {"email": "not an address"}, "email", "Enter an e-mail address, such as"),
        ("fi", {"email": "", "display_name": ""}, "display_name", "Tämä kenttä on pakollinen."),
        ("sv", {"display_name": " "}, "display_name", "Det här fältet är obligatoriskt."),
        ("en", {"email": ""}, "email", "This field is required."),
        ("fi", {"email": "ADMIN@example.fi"}, "email", "Tällä sähköpostiosoitteella on jo"),
        ("sv", {"email": "admin@example.fi "}, "email", "Det finns redan ett konto med den"),
        ("en", {"email": "Admin@Example.FI"}, "email", "An account with this e-mail address"),
    ],
)
async def test_bad_new_accounts_are_refused_in_the_admins_language(
    client, db, lang, fields, field, message
):
    admin = await make_user(db, Role.ADMIN, email="admin@example.fi")
    await sign_in(client, admin)
    await client.get(f"/staff/users/new?lang={lang}")
    token = await csrf_token(client, "/staff/users/new")
    response = await client.post("/staff/users/new", data=new_account(token, **fields))
    assert response.status_code == 400
    assert f'<html lang="{lang}">' in response.text
    assert message in response.text
    assert f'id="error-{field}"' in response.text
    # The form comes back as the add form, with what was typed and a working token.
    assert 'action="/staff/users/new"' in response.text
    assert f'value="{token}"' in response.text
    assert await db.scalar(select(func.count()).select_from(User)) == 1


async def test_adding_an_account_needs_the_csrf_token(client, db):
    await signed_in_as(client, db, Role.ADMIN)
    await client.get("/staff/users/new")
    data = new_account("")
    del data["_csrf_token"]
    response = await client.post("/staff/users/new", data=data)
    assert response.status_code == 403
    forged = await client.post("/staff/users/new", data=new_account("forged-token"))
    assert forged.status_code == 403
    assert await db.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize("role", [Role.STAFF, Role.AUDITOR])
async def test_only_an_admin_adds_accounts(client, db, role):
    await signed_in_as(client, db, role)
    assert (await client.get("/staff/users/new")).status_code == 403
    token = await csrf_token(client, "/staff")
    response = await client.post("/staff/users/new", data=new_account(token, role="admin"))
    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(User)) == 1


async def test_the_new_account_signs_in_with_its_one_time_password_and_must_change_it(client, db):
    await signed_in_as(client, db, Role.ADMIN)
    token = await csrf_token(client, "/staff/users/new")
    response = await client.post("/staff/users/new", data=new_account(token))
    assert response.status_code == 201
    password = re.search(r'<p class="one-time-password"><code>([^<]+)</code>', response.text)[1]
    await client.post("/staff/logout", data={"_csrf_token": token})
    login_token = await csrf_token(client, "/staff/login?lang=en")
    signed_in = await client.post(
        "/staff/login",
        data={"email": "new.person@example.fi", "password": password, "_csrf_token": login_token},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/staff/password"
    assert (await client.get("/staff/events")).status_code in (303, 403)


async def test_an_admin_cannot_disable_themself_when_no_other_admin_is_active(client, db):
    admin = await signed_in_as(client, db, Role.ADMIN)
    await make_user(db, Role.ADMIN, email="closed.admin@example.fi")
    closed = await db.scalar(select(User).where(User.email == "closed.admin@example.fi"))
    closed.is_active = False
    await db.commit()
    token = await csrf_token(client, f"/staff/users/{admin.id}")
    response = await client.post(
        f"/staff/users/{admin.id}",
        data={"display_name": "Me", "role": "admin", "_csrf_token": token},
    )
    assert response.status_code == 400
    assert "last active administrator" in response.text
    await db.refresh(admin)
    assert admin.is_active
    assert admin.role == "admin"


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(database, db):
    first = await make_user(db, Role.ADMIN)
    second = await make_user(db, Role.ADMIN)

    async def demote(user_id: int) -> str:
        async with database.sessionmaker() as session:
            user = await services.get_user(session, user_id)
            try:
                await services.update_user(
                    session, user, display_name="Demoted", role=Role.STAFF, is_active=True
                )
            except services.DomainError:
                return "refused"
            return "demoted"

    outcomes = await asyncio.gather(demote(first.id), demote(second.id))
    assert sorted(outcomes) == ["demoted", "refused"]
    active_admins = await db.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.is_active)
        .execution_options(populate_existing=True)
    )
    assert active_admins == 1


async def test_two_admins_adding_the_same_address_at_once_make_one_account(database, db):
    async def add() -> str:
        async with database.sessionmaker() as session:
            try:
                await services.create_user(
                    session, email="twice@example.fi", display_name="Twice", role=Role.STAFF
                )
            except services.DomainError:
                return "refused"
            return "added"

    outcomes = await asyncio.gather(add(), add())
    assert sorted(outcomes) == ["added", "refused"]
    assert await db.scalar(select(func.count()).select_from(User)) == 1

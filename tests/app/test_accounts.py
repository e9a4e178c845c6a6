import pytest
from sqlalchemy import func, select

from app.accounts.models import Role, StaffSession, User
from app.accounts.passwords import hash_password, needs_rehash
from app.accounts.services import ACCOUNT_FAILURES
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_user, sign_in, signed_in_as


async def post_login(client, email, password, lang="en"):
    token = await csrf_token(client, f"/staff/login?lang={lang}")
    return await client.post(
        "/staff/login", data={"email": email, "password": password, "_csrf_token": token}
    )


async def test_staff_member_signs_in_and_gets_a_fresh_http_only_session(client, db):
    user = await make_user(db)
    response = await post_login(client, user.email, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("tori_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    first_token = client.cookies["tori_session"]
    home = await client.get("/staff")
    assert home.status_code == 200
    assert "Signed in as" in home.text
    # Signing in again rotates the token: an old, possibly planted one is not kept.
    await sign_in(client, user)
    assert client.cookies["tori_session"] != first_token


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("fi", "Sähköpostiosoite tai salasana on väärä."),
        ("sv", "E-postadressen eller lösenordet är fel."),
        ("en", "The e-mail address or password is wrong."),
    ],
)
async def test_wrong_password_is_refused_in_the_users_language(client, db, lang, message):
    user = await make_user(db)
    response = await post_login(client, user.email, "not the password", lang=lang)
    assert response.status_code == 400
    assert message in response.text
    assert f'<html lang="{lang}">' in response.text
    assert await db.scalar(select(func.count()).select_from(StaffSession)) == 0


async def test_unknown_account_gets_the_same_answer_as_a_wrong_password(client, db):
    response = await post_login(client, "nobody@example.fi", "whatever it is")
    assert response.status_code == 400
    assert "The e-mail address or password is wrong." in response.text


async def test_repeated_guessing_locks_the_account_even_for_the_right_password(client, db):
    user = await make_user(db)
    for _ in range(ACCOUNT_FAILURES.count):
        assert (await post_login(client, user.email, "guess guess guess")).status_code == 400
    response = await post_login(client, user.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins for this account" in response.text


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"email": "", "password": ""},
        {"email": "not-an-address", "password": "x"},
        {"email": "a@b.fi" + "x" * 300, "password": "x"},
        {"email": "<script>alert(1)</script>@example.fi", "password": "x"},
        {"email": "admin@example.fi' OR '1'='1", "password": "' OR 1=1 --"},
        {"email": "a@example.fi", "password": "x" * 5000},
        {"email": "a\x00@example.fi", "password": "x"},
    ],
)
async def test_malformed_sign_in_is_refused_and_nothing_is_stored(client, db, fields):
    token = await csrf_token(client, "/staff/login?lang=en")
    response = await client.post("/staff/login", data={**fields, "_csrf_token": token})
    assert response.status_code == 400
    assert "Please check the form" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert await db.scalar(select(func.count()).select_from(StaffSession)) == 0


async def test_one_time_password_must_be_changed_before_anything_else(client, db):
    user = await make_user(db, must_change_password=True)
    response = await post_login(client, user.email, PASSWORD)
    assert response.headers["location"] == "/staff/password"
    blocked = await client.get("/staff/events")
    assert blocked.status_code == 303
    assert blocked.headers["location"] == "/staff/password"
    token = await csrf_token(client, "/staff/password")
    too_short = await client.post(
        "/staff/password",
        data={
            "current_password": PASSWORD,
            "new_password": "short",
            "new_password_again": "short",
            "_csrf_token": token,
        },
    )
    assert too_short.status_code == 400
    new = "a brand new long password"
    changed = await client.post(
        "/staff/password",
        data={
            "current_password": PASSWORD,
            "new_password": new,
            "new_password_again": new,
            "_csrf_token": token,
        },
    )
    assert changed.status_code == 303
    assert (await client.get("/staff/events")).status_code == 200
    await db.refresh(user)
    assert not user.must_change_password


async def test_logout_ends_the_session(client, db):
    await signed_in_as(client, db, Role.STAFF)
    token = await csrf_token(client, "/staff")
    response = await client.post("/staff/logout", data={"_csrf_token": token})
    assert response.status_code == 303
    assert await db.scalar(select(func.count()).select_from(StaffSession)) == 0
    assert (await client.get("/staff")).status_code == 303


async def test_signed_out_visitor_is_sent_to_sign_in_and_posts_are_refused(client, db):
    response = await client.get("/staff/events")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=%2Fstaff%2Fevents"
    token = await csrf_token(client)
    refused = await client.post("/staff/events/new", data={"_csrf_token": token})
    assert refused.status_code == 401
    assert "text/html" in refused.headers["content-type"]


async def test_open_redirect_after_sign_in_is_not_followed(client, db):
    user = await make_user(db)
    token = await csrf_token(client)
    response = await client.post(
        "/staff/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "//evil.example/",
            "_csrf_token": token,
        },
    )
    assert response.headers["location"] == "/staff"


@pytest.mark.parametrize(
    ("role", "status"), [(Role.STAFF, 403), (Role.AUDITOR, 403), (Role.ADMIN, 200)]
)
async def test_only_admins_manage_accounts(client, db, role, status):
    await signed_in_as(client, db, role)
    assert (await client.get("/staff/users")).status_code == status


async def test_auditor_reads_but_cannot_change_events(client, db):
    await signed_in_as(client, db, Role.AUDITOR)
    assert (await client.get("/staff/events")).status_code == 200
    token = await csrf_token(client, "/staff")
    assert (await client.post("/staff/events/new", data={"_csrf_token": token})).status_code == 403


async def test_admin_creates_an_account_and_sees_its_one_time_password_once(client, db):
    await signed_in_as(client, db, Role.ADMIN)
    token = await csrf_token(client, "/staff/users/new")
    response = await client.post(
        "/staff/users/new",
        data={
            "email": "New.Person@Example.fi",
            "display_name": "New Person",
            "role": "staff",
            "_csrf_token": token,
        },
    )
    assert response.status_code == 201
    created = await db.scalar(select(User).where(User.email == "new.person@example.fi"))
    assert created is not None
    assert created.must_change_password
    assert "One-time password" in response.text
    duplicate = await client.post(
        "/staff/users/new",
        data={
            "email": "new.person@example.fi",
            "display_name": "Again",
            "role": "staff",
            "_csrf_token": token,
        },
    )
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.text


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "", "display_name": "", "role": ""},
        {"email": "x@example.fi", "display_name": "X", "role": "superuser"},
        {"email": "x@example.fi", "display_name": "N" * 121, "role": "staff"},
        {"email": "x@example.fi", "display_name": "line\nbreak", "role": "staff"},
    ],
)
async def test_bad_account_forms_store_nothing(client, db, fields):
    await signed_in_as(client, db, Role.ADMIN)
    token = await csrf_token(client, "/staff/users/new")
    response = await client.post("/staff/users/new", data={**fields, "_csrf_token": token})
    assert response.status_code == 400
    assert await db.scalar(select(func.count()).select_from(User)) == 1


async def test_the_last_admin_cannot_demote_themself(client, db):
    admin = await signed_in_as(client, db, Role.ADMIN)
    token = await csrf_token(client, f"/staff/users/{admin.id}")
    response = await client.post(
        f"/staff/users/{admin.id}",
        data={"display_name": "Me", "role": "staff", "is_active": "on", "_csrf_token": token},
    )
    assert response.status_code == 400
    assert "last active administrator" in response.text
    await db.refresh(admin)
    assert admin.role == "admin"


async def test_outdated_password_hash_is_upgraded_at_sign_in(
    client, db, production_password_hashes
):
    """With the production parameters (the other tests hash at the lowest cost)."""
    from argon2 import PasswordHasher

    user = await make_user(db)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    old_hash = user.password_hash
    await db.commit()
    await sign_in(client, user)
    await db.refresh(user)
    assert user.password_hash != old_hash
    # argon2id at RFC 9106's second recommended setting: 64 MiB, three passes, four lanes.
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not needs_rehash(user.password_hash)
    assert await hash_password("x") != await hash_password("x")


async def test_many_failures_from_one_address_slow_down_every_account_from_it(client, db):
    from app.accounts.services import ADDRESS_FAILURES

    await client.get("/?lang=en")
    token = await csrf_token(client)
    for number in range(ADDRESS_FAILURES.count):
        response = await client.post(
            "/staff/login",
            data={"email": f"guess{number}@example.fi", "password": "wrong", "_csrf_token": token},
        )
        assert response.status_code == 400
    user = await make_user(db)
    response = await client.post(
        "/staff/login", data={"email": user.email, "password": PASSWORD, "_csrf_token": token}
    )
    assert response.status_code == 429
    assert "from your network" in response.text

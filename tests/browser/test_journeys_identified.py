"""A resident sends an idea after identifying strongly, without an e-mail account (issue #16,
item 2), walked on a phone in fi/sv/en with the usual mistakes: the idea form asks to sign in,
the resident chooses strong identification, picks their identity on the provider's own page
(a real OpenID Connect provider, tests/oidc_provider.py), comes back to the form, sends it
without a title, fixes it, reloads, and finds the idea on its page and in their account.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from app import PROJECT_ROOT
from app.i18n import gettext_in, load_catalogs
from tests.browser.conftest import PHONE, LiveServer, served
from tests.browser.steps import no_axe_violations, query
from tests.browser.test_journeys_residents import LANGUAGES
from tests.conftest import TEST_SECRET
from tests.oidc_provider import running_identity_provider

pytestmark = pytest.mark.browser
load_catalogs(PROJECT_ROOT / "locale")

IDEA = {
    "fi": ("Kirjastoon lukunurkkaus", "Pehmeä lukunurkkaus lapsille kirjaston toiseen kerrokseen."),
    "sv": ("Läshörna i biblioteket", "En mjuk läshörna för barn på bibliotekets andra våning."),
    "en": ("A reading corner in the library", "A soft reading corner for children upstairs."),
}


def t(language: str, message: str) -> str:
    return gettext_in(language, message)


@dataclass(frozen=True)
class IdentifyingServer:
    url: str
    issuer: str
    slug: str


@pytest.fixture(scope="module")
def identifying_server(live_server: LiveServer) -> Iterator[IdentifyingServer]:
    """The live server's database served once more, with strong identification configured."""
    [(slug,)] = query(
        live_server,
        "SELECT slug FROM pb_round WHERE ideas_open_at < now() AND review_at > now()",
    )
    with running_identity_provider() as issuer:
        environment = {
            **os.environ,
            "DATABASE_URL": live_server.database_url,
            "SECRET_KEY": TEST_SECRET,
            "TORI_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "OIDC_ISSUER": issuer,
            "OIDC_CLIENT_ID": "tori",
            "OIDC_CLIENT_SECRET": "tori-client-secret",
        }
        with served(environment, "identifying-server") as url:
            yield IdentifyingServer(url, issuer, slug)


def only_this_machine(page: Page) -> None:
    """The provider's page links a style sheet on a CDN: no request leaves the machine."""
    page.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), lambda route: route.abort())


def ideas_of_subject(live_server: LiveServer, title: str) -> list[tuple]:
    return query(
        live_server,
        "SELECT r.email, r.password_hash, length(r.identity_hash), p.status FROM pb_proposal p "
        "JOIN resident_account r ON r.id = p.author_id WHERE p.title ->> :l = :t",
        l=next(language for language, (text, _) in IDEA.items() if text == title),
        t=title,
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_identify_then_send_an_idea_with_a_mistake_and_find_it(
    new_page, live_server: LiveServer, identifying_server: IdentifyingServer, language
):
    base, slug = identifying_server.url, identifying_server.slug
    title, description = IDEA[language]
    page = new_page(PHONE)
    only_this_machine(page)

    # The idea form asks to sign in; the sign-in page offers strong identification.
    page.goto(f"{base}/pb/{slug}/propose?lang={language}")
    expect(page).to_have_url(re.compile(r"/account/sign-in\?next="))
    expect(
        page.get_by_role("heading", name=t(language, "Sign in with strong identification"))
    ).to_be_visible()
    no_axe_violations(page)
    page.click("form[action='/account/identify'] button[type=submit]")

    # The provider's own page: the person picks their identity.
    expect(page).to_have_url(re.compile(re.escape(identifying_server.issuer)))
    page.locator("input[name=sub]").first.fill(f"browser-person-{language}")
    page.get_by_role("button", name="Authorize").click()

    # Back on the idea form, signed in, in the language chosen before.
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/propose$"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_have_text(t(language, "Send an idea"))
    expect(page.get_by_text(t(language, "Signed in with strong identification."))).to_be_visible()

    # No title: the error, everything else kept, nothing stored.
    page.fill("#field-description", description)
    page.select_option("#field-area", index=1)
    page.fill("#field-estimated_cost", "12 000")
    page.click("#propose-form button[type=submit]:not([name])")
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#field-title").locator("xpath=..")).to_have_class(
        re.compile("field-invalid")
    )
    expect(page.locator("#field-description")).to_have_value(description)
    no_axe_violations(page)
    assert ideas_of_subject(live_server, title) == []

    page.fill("#field-title", title)
    page.click("#propose-form button[type=submit]:not([name])")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/proposals/\d+\?sent=1$"))
    expect(page.get_by_role("status")).to_have_text(
        t(language, "Thank you! Your idea has been sent. City staff will review and cost it.")
    )
    expect(page.locator("h1")).to_have_text(title)
    expect(page.get_by_text(t(language, "Waiting for a check"), exact=True)).to_be_visible()
    page.reload()
    expect(page.locator("h1")).to_have_text(title)
    # Stored once, by an account without an address or password: only the subject's keyed hash.
    assert ideas_of_subject(live_server, title) == [(None, None, 64, "submitted")]

    # The account lists it, with a way to give an address for notices.
    page.goto(f"{base}/account")
    ideas = page.locator("main li").filter(has_text=title)
    expect(ideas).to_have_count(1)
    expect(page.get_by_text(t(language, "With strong identification"))).to_be_visible()
    expect(
        page.get_by_role("link", name=t(language, "Give an e-mail address for notices"))
    ).to_be_visible()
    no_axe_violations(page)

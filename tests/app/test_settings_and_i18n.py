import datetime as dt

import pytest

from app.i18n import Formatter, localized, negotiate_language, parse_accept_language, set_language
from app.settings import DEVELOPMENT_SECRET, InsecureSettingsError, Settings, normalise_database_url

GOOD_PRODUCTION = {
    "TORI_ENV": "production",
    "SECRET_KEY": "x" * 48,
    "TORI_HTTPS": "1",
    "DATABASE_URL": "postgresql://tori@db/tori",
    "TORI_ROLL_KEY": "r" * 40,
    "TORI_SIGNING_KEY": "c2lnbmluZy1rZXktc2VlZC1vZi0zMi1ieXRlcy0xMjM=",
}


def test_development_defaults_run_on_embedded_sqlite():
    settings = Settings.from_environment({})
    assert settings.uses_sqlite
    assert settings.secret_key == DEVELOPMENT_SECRET
    assert not settings.is_production


def test_production_with_safe_settings_starts():
    settings = Settings.from_environment(GOOD_PRODUCTION)
    assert settings.is_production
    assert settings.mix_batch == 20
    assert Settings.from_environment({"TORI_MIX_BATCH": "3"}).mix_batch == 3  # tests, development
    assert settings.database_url == "postgresql+asyncpg://tori@db/tori"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"TORI_HTTPS": "0"}, "TORI_HTTPS"),
        ({"TORI_DEBUG": "1"}, "TORI_DEBUG"),
        ({"DATABASE_URL": "sqlite:///tori.sqlite3"}, "PostgreSQL"),
        ({"TORI_ROLL_KEY": ""}, "TORI_ROLL_KEY"),
        ({"TORI_ROLL_KEY": "short"}, "TORI_ROLL_KEY"),
        ({"TORI_SIGNING_KEY": ""}, "TORI_SIGNING_KEY"),
        ({"TORI_SIGNING_KEY": "bm90IDMyIGJ5dGVz"}, "TORI_SIGNING_KEY"),
        ({"TORI_MIX_BATCH": "19"}, "TORI_MIX_BATCH must be at least 20"),
        ({"TORI_MIX_BATCH": "x"}, "TORI_MIX_BATCH"),
    ],
)
def test_production_refuses_insecure_settings_with_a_clear_message(change, complaint):
    with pytest.raises(InsecureSettingsError, match=complaint):
        Settings.from_environment({**GOOD_PRODUCTION, **change})


def test_unknown_environment_is_refused():
    with pytest.raises(InsecureSettingsError, match="TORI_ENV"):
        Settings.from_environment({"TORI_ENV": "prod"})


def test_database_urls_get_the_async_driver():
    assert normalise_database_url("postgres://a@b/c") == "postgresql+asyncpg://a@b/c"
    assert normalise_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("sv-FI,sv;q=0.9,en;q=0.5", ["sv", "en"]),
        ("en-GB;q=0.4, fi;q=0.8", ["fi", "en"]),
        ("de-DE,de;q=0.9", []),
        ("nb-NO", ["sv"]),
        ("fi;q=0, en", ["en"]),
        ("fi;q=abc, sv", ["sv"]),
        ("", []),
    ],
)
def test_accept_language_is_parsed_by_quality(header, expected):
    assert parse_accept_language(header) == expected


def test_language_is_explicit_choice_then_cookie_then_browser_then_finnish():
    assert negotiate_language("en", "sv", "fi") == "en"
    assert negotiate_language(None, "sv", "en") == "sv"
    assert negotiate_language("xx", "yy", "en-US") == "en"
    assert negotiate_language(None, None, "de") == "fi"


def test_staff_content_falls_back_to_another_language():
    assert localized({"fi": "Puisto", "sv": "Park"}, "sv") == "Park"
    assert localized({"fi": "Puisto"}, "en") == "Puisto"
    assert localized({"sv": "Park"}, "fi") == "Park"
    assert localized({}, "fi") == ""


def test_dates_and_numbers_follow_the_language():
    formatter = Formatter("Europe/Helsinki")
    moment = dt.datetime(2026, 12, 6, 15, 30, tzinfo=dt.UTC)
    set_language("fi")
    assert formatter.time(moment) == "17.30"
    assert formatter.number(67814) == "67\xa0814"
    assert "joulukuuta" in formatter.weekday_date(moment)
    set_language("sv")
    assert "december" in formatter.weekday_date(moment)
    set_language("en")
    assert formatter.number(67814) == "67,814"
    assert "December" in formatter.weekday_date(moment)

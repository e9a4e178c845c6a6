import datetime as dt
import subprocess

import pytest

from app.i18n import (
    Formatter,
    language_name,
    localized,
    negotiate_language,
    parse_accept_language,
    set_language,
)
from app.settings import (
    MIN_SECRET_LENGTH,
    InsecureSettingsError,
    Settings,
    normalise_database_url,
)

GOOD_PRODUCTION = {
    "TORI_ENV": "production",
    "SECRET_KEY": "x" * 48,
    "TORI_HTTPS": "1",
    "DATABASE_URL": "postgresql://tori@db/tori",
    "TORI_ROLL_KEY": "r" * 40,
    "TORI_SIGNING_KEY": "c2lnbmluZy1rZXktc2VlZC1vZi0zMi1ieXRlcy0xMjM=",
    "SMTP_URL": "smtp://tori:secret@mail.example.fi:587?starttls=1",
    "TORI_MAIL_FROM": "Espoo <osallisuus@espoo.fi>",
    "TORI_SITE_URL": "https://osallistu.espoo.fi",
}


def test_development_defaults_run_on_embedded_sqlite(tmp_path):
    settings = Settings.from_environment({"TORI_SECRET_FILE": str(tmp_path / "secret")})
    assert settings.uses_sqlite
    assert not settings.is_production


def test_development_makes_its_own_random_secret_once_and_keeps_it(tmp_path):
    """The old default was a public constant: anyone could forge a voter's cookie, and the board's
    signing key and the roll's key derived from it, on any instance started with defaults."""
    first_file, other_file = tmp_path / "one" / ".tori-secret", tmp_path / ".tori-secret"
    first_file.parent.mkdir()
    first = Settings.from_environment({"TORI_SECRET_FILE": str(first_file)})
    assert len(first.secret_key) >= MIN_SECRET_LENGTH
    assert first.secret_key != "development-only-secret-do-not-use-in-production"
    assert first_file.read_text().strip() == first.secret_key
    assert first_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    # The next start keeps it (cookies stay valid); another installation gets its own.
    again = Settings.from_environment({"TORI_SECRET_FILE": str(first_file)})
    assert again.secret_key == first.secret_key
    other = Settings.from_environment({"TORI_SECRET_FILE": str(other_file)})
    assert other.secret_key != first.secret_key
    assert other.signing_seed != first.signing_seed
    assert other.roll_key != first.roll_key
    # Without the file there is no fallback secret: a broken file is an error, not a default.
    other_file.write_text("short\n")
    with pytest.raises(InsecureSettingsError, match="usable secret"):
        Settings.from_environment({"TORI_SECRET_FILE": str(other_file)})
    with pytest.raises(InsecureSettingsError, match="SECRET_KEY"):
        Settings.from_environment({"SECRET_KEY": "short"})


def test_the_development_secret_file_is_never_committed():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".tori-secret"], cwd=Settings().static_dir.parent, check=False
    )
    assert ignored.returncode == 0


def test_production_refuses_to_start_without_a_secret_and_makes_no_file(tmp_path):
    secret_file = tmp_path / ".tori-secret"
    environment = {k: v for k, v in GOOD_PRODUCTION.items() if k != "SECRET_KEY"}
    with pytest.raises(InsecureSettingsError, match="SECRET_KEY"):
        Settings.from_environment({**environment, "TORI_SECRET_FILE": str(secret_file)})
    assert not secret_file.exists()


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
        ({"SMTP_URL": ""}, "SMTP_URL must name the SMTP server"),
        ({"SMTP_URL": "http://mail.example.fi"}, "SMTP_URL"),
        ({"SMTP_URL": "smtp://mail.example.fi:99999"}, "SMTP_URL"),
        ({"TORI_MAIL_FROM": ""}, "TORI_MAIL_FROM"),
        ({"TORI_MAIL_POLL_SECONDS": "0"}, "TORI_MAIL_POLL_SECONDS"),
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


# Finland's conventions in each language, with known answers: 20 December 2026 at 5.45 in
# Helsinki is 3.45 UTC. English follows the English written in Finland (en_FI): day first, the
# month as a word so that no reader takes 1.9. for 9 January, a 24-hour clock.
KNOWN_ANSWERS = {
    "fi": {
        "datetime": "20.12.2026 klo 5.45",
        "date": "20.12.2026",
        "time": "5.45",
        "month": "joulukuu 2026",
        "weekday_date": "sunnuntai 20. joulukuuta 2026",
        "number": "12\xa0345,5",
        "euros": "30\xa0000\xa0€",
        "percent": "12\xa0%",
    },
    "sv": {
        "datetime": "20.12.2026 kl. 5.45",
        "date": "20.12.2026",
        "time": "5.45",
        "month": "december 2026",
        "weekday_date": "söndag 20 december 2026",
        "number": "12\xa0345,5",
        "euros": "30\xa0000\xa0€",
        "percent": "12\xa0%",
    },
    "en": {
        "datetime": "20 Dec 2026 at 5.45",
        "date": "20 Dec 2026",
        "time": "5.45",
        "month": "December 2026",
        "weekday_date": "Sunday, 20 December 2026",
        "number": "12\xa0345,5",
        "euros": "30\xa0000\xa0€",
        "percent": "12\xa0%",
    },
}


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_dates_numbers_and_money_follow_finlands_conventions(language):
    formatter = Formatter("Europe/Helsinki")
    moment = dt.datetime(2026, 12, 20, 3, 45, tzinfo=dt.UTC)
    set_language(language)
    got = {
        "datetime": formatter.datetime(moment),
        "date": formatter.date(moment),
        "time": formatter.time(moment),
        "month": formatter.month(dt.date(2026, 12, 1)),
        "weekday_date": formatter.weekday_date(moment),
        "number": formatter.number(12345.5, 1),
        "euros": formatter.euros(30000),
        "percent": formatter.percent(0.123),
    }
    assert got == KNOWN_ANSWERS[language]
    # The style that older callers pass changes nothing: one way per language.
    assert formatter.datetime(moment, "short") == KNOWN_ANSWERS[language]["datetime"]
    assert formatter.date(moment, "short") == KNOWN_ANSWERS[language]["date"]
    # A month key from the database ("2026-12") is written like a month.
    assert formatter.month("2026-12") == KNOWN_ANSWERS[language]["month"]


def test_a_moment_is_written_in_the_citys_time_and_in_a_language_asked_for():
    formatter = Formatter("Europe/Helsinki")
    set_language("en")
    # 22.30 UTC on 31 December is already New Year's Day in Helsinki.
    new_year = dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)
    assert formatter.datetime(new_year) == "1 Jan 2027 at 0.30"
    assert formatter.datetime(new_year, language="sv") == "1.1.2027 kl. 0.30"
    assert formatter.date(dt.date(2027, 1, 9), language="fi") == "9.1.2027"
    assert formatter.number(None) == "–"
    assert formatter.euros(None) == "–"


def test_language_names_follow_one_convention():
    """Names of languages in running text are in the reader's language, in lower case where
    the language writes them so ("suomi, ruotsi", "finska, svenska"); only the switcher shows
    each language's own name."""
    assert [language_name(code, "fi") for code in ("fi", "sv", "en")] == [
        "suomi",
        "ruotsi",
        "englanti",
    ]
    assert [language_name(code, "sv") for code in ("fi", "sv", "en")] == [
        "finska",
        "svenska",
        "engelska",
    ]
    assert [language_name(code, "en") for code in ("fi", "sv", "en")] == [
        "Finnish",
        "Swedish",
        "English",
    ]


def test_the_fast_path_is_on_unless_switched_off():
    assert Settings.from_environment({}).fast_path
    assert not Settings.from_environment({"TORI_FAST_PATH": "0"}).fast_path
    assert Settings.from_environment({"TORI_FAST_PATH": "1"}).fast_path


def test_trusted_proxies_are_explicit_and_checked():
    assert Settings.from_environment({}).trusted_proxies == ()
    listed = Settings.from_environment({"TORI_TRUSTED_PROXIES": "127.0.0.1, 10.1.2.0/24 ::1"})
    assert listed.trusted_proxies == ("127.0.0.1/32", "10.1.2.0/24", "::1/128")
    for bad in ("*", "proxy.example.fi", "10.0.0.0/99", "127.0.0.1;rm"):
        with pytest.raises(InsecureSettingsError, match="TORI_TRUSTED_PROXIES"):
            Settings.from_environment({"TORI_TRUSTED_PROXIES": bad})


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_formats_built_once_write_what_babel_writes_from_scratch(language):
    """The patterns parsed once per language (app.i18n.LanguageFormats) and the kept numbers
    write every value exactly as Babel's format functions do when given the pattern each time."""
    import random

    from babel import dates, numbers

    from app.i18n import DATE_PATTERNS, DATETIME_JOINS, FORMAT_LOCALES

    formatter = Formatter("Europe/Helsinki")
    locale = FORMAT_LOCALES[language]
    zone = formatter.zone
    generator = random.Random(17)
    for _ in range(300):
        moment = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            minutes=generator.randrange(60 * 24 * 366 * 40)
        )
        local = moment.astimezone(zone)
        date_text = dates.format_date(local.date(), DATE_PATTERNS[language], locale=locale)
        time_text = dates.format_time(local, "H.mm", locale=locale)
        assert formatter.date(moment, language=language) == date_text
        assert formatter.time(moment, language) == time_text
        assert formatter.datetime(moment, language=language) == DATETIME_JOINS[language].format(
            date=date_text, time=time_text
        )
        assert formatter.weekday_date(moment, language) == dates.format_date(
            local.date(), "full", locale=locale
        )
        assert formatter.month(local.date(), language) == dates.format_skeleton(
            "yMMMM", local.date(), locale=locale
        )
        # Twice each: the second answer may come from the kept ones.
        for value in (
            generator.randrange(-(10**7), 10**9),
            generator.uniform(-1000, 10**6),
            -0.0,
            0,
        ):
            for digits in (0, 1, 2):
                pattern = "#,##0" + ("." + "0" * digits if digits else "")
                expected = numbers.format_decimal(value, format=pattern, locale=locale)
                assert formatter.number(value, digits, language) == expected
                assert formatter.number(value, digits, language) == expected
        amount = generator.randrange(0, 10**8)
        assert formatter.euros(amount, language) == numbers.format_currency(
            amount, "EUR", format="#,##0\u00a0¤", locale=locale, currency_digits=False
        )
        share = generator.random()
        assert formatter.percent(share, language) == numbers.format_percent(share, locale=locale)

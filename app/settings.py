"""Settings read once from environment variables.

Development defaults let `tori serve` run on a fresh machine; production mode
(`TORI_ENV=production`) refuses to start with any of them left insecure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from app import PROJECT_ROOT
from app.i18n import DEFAULT_CONTENT_LANGUAGES
from app.i18n import LANGUAGES as INTERFACE_LANGUAGES

# Without SECRET_KEY, development makes a random secret here on first run and keeps it (the
# file is in .gitignore). There is no built-in secret: one that everybody knows let anyone forge
# a voter's cookie on an instance started with the defaults. The roll and signing keys derive
# from it in development (production sets its own).
DEFAULT_SECRET_FILE = PROJECT_ROOT / ".tori-secret"
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'tori.sqlite3'}"
MIN_SECRET_LENGTH = 32
MIN_MIX_BATCH = 20
DEFAULT_MAIL_FROM = "Tori <noreply@example.fi>"
# Uploaded pictures (app/images.py, voting/pictures.py) live here unless TORI_MEDIA_DIR says.
DEFAULT_MEDIA_DIR = PROJECT_ROOT / "media"


def _is_signing_seed(value: str | None) -> bool:
    if not value:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


class InsecureSettingsError(RuntimeError):
    """Production mode was asked for with settings that are not safe for it."""


def local_secret(path: Path) -> str:
    """This installation's own development secret: read from `path`, made there on first run."""
    for _attempt in range(50):
        try:
            secret = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            secret = ""
        if len(secret) >= MIN_SECRET_LENGTH:
            return secret
        if not path.exists():
            # Written whole to a private file, then linked into place: two workers starting at
            # once end up with the same secret (the second link fails and that one reads).
            draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
            continue
        time.sleep(0.01)  # being written by another process
    raise InsecureSettingsError(
        f"{path} does not hold a usable secret: delete it or set SECRET_KEY."
    )


def _period(env, name: str, default: int) -> int:
    """A retention period: a whole number from 1 to 1200 (months or days)."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdecimal() or not 1 <= int(text) <= 1200:
        raise InsecureSettingsError(f"{name} must be a whole number from 1 to 1200, not {text!r}.")
    return int(text)


def _site_url(text: str | None) -> str | None:
    """TORI_SITE_URL: the public address, scheme and host only (https://osallistu.example.fi)."""
    text = (text or "").strip().rstrip("/")
    if not text:
        return None
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", text):
        raise InsecureSettingsError(
            "TORI_SITE_URL must be the site's public address, scheme and host only, such as "
            f"https://osallistu.example.fi, not {text[:80]!r}."
        )
    return text


def _proxies(text: str | None) -> tuple[str, ...]:
    """TORI_TRUSTED_PROXIES: addresses or networks (CIDR), separated by commas or spaces."""
    proxies = []
    for item in (text or "").replace(",", " ").split():
        try:
            proxies.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise InsecureSettingsError(
                f"TORI_TRUSTED_PROXIES must list IP addresses or networks (such as 127.0.0.1 or "
                f"10.0.0.0/24), not {item[:60]!r}."
            ) from None
    return tuple(proxies)


def _origins(text: str | None) -> tuple[str, ...]:
    """TORI_EMBED_ORIGINS: the sites allowed to show Tori's embeddable calendar and polls in a
    frame, as origins (scheme and host, such as https://www.example.fi), separated by commas or
    spaces."""
    origins = []
    for item in (text or "").replace(",", " ").split():
        origin = item.rstrip("/")
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
            raise InsecureSettingsError(
                "TORI_EMBED_ORIGINS must list origins, scheme and host only, such as "
                f"https://www.example.fi, not {item[:80]!r}."
            )
        origins.append(origin.lower())
    return tuple(origins)


def _megabytes(env, name: str, default: int) -> int:
    """A size in whole megabytes from 1 to 100."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdecimal() or not 1 <= int(text) <= 100:
        raise InsecureSettingsError(f"{name} must be a whole number from 1 to 100, not {text!r}.")
    return int(text)


def _seconds(env, name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600:
        raise InsecureSettingsError(f"{name} must be a number of seconds from 0.1 to 3600.")
    return value


# A language tag as the setting accepts it: a primary language of 2-3 letters and at most three
# subtags (region, script or a private-use part such as fi-x-selko), 16 characters at most (the
# width of the answers' language column).
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8}){0,3}$")
MAX_CONTENT_LANGUAGES = 30


def _content_languages(value: str | None) -> tuple[str, ...]:
    if value is None or not value.strip():
        return DEFAULT_CONTENT_LANGUAGES
    codes: list[str] = []
    for item in value.replace(",", " ").split():
        code = item.strip().lower()
        if not _LANGUAGE_TAG.match(code) or len(code) > 16:
            raise InsecureSettingsError(
                f"TORI_CONTENT_LANGUAGES must list language tags such as fi, ar or fi-x-selko, "
                f"separated by commas, not {item[:40]!r}."
            )
        if code not in codes:
            codes.append(code)
    missing = [code for code in INTERFACE_LANGUAGES if code not in codes]
    if missing:
        raise InsecureSettingsError(
            f"TORI_CONTENT_LANGUAGES must include {', '.join(INTERFACE_LANGUAGES)} (the interface "
            f"languages); {', '.join(missing)} missing."
        )
    if len(codes) > MAX_CONTENT_LANGUAGES:
        raise InsecureSettingsError(
            f"TORI_CONTENT_LANGUAGES may list at most {MAX_CONTENT_LANGUAGES} languages."
        )
    return tuple(codes)


def _interface_fallback(value: str | None) -> str:
    code = (value or "en").strip().lower() or "en"
    if code not in ("en", "fi"):
        raise InsecureSettingsError("TORI_INTERFACE_FALLBACK must be en or fi.")
    return code


def _flag(value: str | None, *, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Accept the usual `postgres://` and `postgresql://` forms and pick the async driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


# What the map service's URL template (TORI_MAP_URL) may contain.
MAP_PLACEHOLDERS = ("{lat}", "{lon}", "{query}")


def map_url_problem(template: str) -> str | None:
    """Why TORI_MAP_URL cannot be used (English, for the operator), or None."""
    if not template.startswith(("https://", "http://")):
        return "TORI_MAP_URL must start with https:// (or http://)"
    rest = template
    for placeholder in MAP_PLACEHOLDERS:
        rest = rest.replace(placeholder, "")
    if rest == template:
        return "TORI_MAP_URL must contain {lat} and {lon}, or {query}"
    if "{" in rest or "}" in rest:
        return "TORI_MAP_URL may contain only the placeholders {lat}, {lon} and {query}"
    if any(character.isspace() or character in "\"'<>" for character in template):
        return "TORI_MAP_URL must not contain spaces, quotes or angle brackets"
    return None


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    # Set by `from_environment` (SECRET_KEY, or the development file); none is built in.
    secret_key: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    https: bool = False
    debug: bool = False
    timezone: str = "Europe/Helsinki"
    log_level: str = "INFO"
    database_pool_size: int = 10
    contact_email: str = "osallisuus@example.fi"
    # Questionnaire answers accepted from one network address per 10 minutes (a full hall fits).
    answers_per_address: int = 300
    # Poll votes accepted from one network address per 10 minutes: a crowd at a pop-up stand or
    # behind a library's network votes freely, a script is slowed down.
    votes_per_address: int = 600
    # The fast path of the busiest form posts (app/fastpath.py); TORI_FAST_PATH=0 switches it
    # off, and the controllers take every vote and answer themselves.
    fast_path: bool = True
    # Anonymous readers of public pages share rendered pages (app/page_cache.py);
    # TORI_SHARED_PAGES=0 renders every page for every request, sent no-store.
    shared_pages: bool = True
    # Key of the HMAC that stands in for personal identifiers on voter rolls (TORI_ROLL_KEY).
    # Kept apart from SECRET_KEY so that rotating that one does not orphan a roll.
    roll_key_setting: str | None = None
    # Ed25519 key that signs published results (TORI_SIGNING_KEY: base64 of a 32-byte seed).
    signing_key_setting: str | None = None
    # OpenID Connect identity broker for strong identification of voters (all three or none).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    # The ID token claim holding the verified personal identifier.
    oidc_identifier_claim: str = "hetu"
    # How long personal data is kept; the privacy notice states these and `tori retention`
    # applies them. Free-text answers (which may name someone) in months after answering.
    keep_comments_months: int = 24
    # The voter roll, voting codes and paper typings, in days after a round's results are
    # published (time for complaints about the count).
    keep_roll_days: int = 90
    # Reports of ideas (their reasons) after the round's voting closed, in days
    # (TORI_KEEP_REPORTS_DAYS).
    keep_reports_days: int = 30
    # Earlier texts of ideas (which may hold the personal data staff removed) after the round's
    # results were published, in days (TORI_KEEP_IDEA_VERSIONS_DAYS).
    keep_idea_versions_days: int = 90
    # Resident accounts whose e-mail address was never confirmed, in days.
    keep_unconfirmed_days: int = 7
    # Cast ballots wait in a pending table and join the log in shuffled batches of at least
    # this many per district (TORI_MIX_BATCH; see voting/mixing.py). Production needs >= 20.
    mix_batch: int = 20
    # Prometheus metrics at /metrics (TORI_METRICS=1), behind a bearer token when
    # TORI_METRICS_TOKEN is set (production needs one); see app/metrics.py.
    metrics: bool = False
    metrics_token: str | None = None
    # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed
    # (TORI_TRUSTED_PROXIES, addresses or networks). None by default: then the client's address
    # is the connection's, and a forwarded header from anyone is ignored.
    trusted_proxies: tuple[str, ...] = ()
    # The public address links in e-mail, posters and QR codes point to (TORI_SITE_URL). Without
    # it (development only) they take the address the request came to, whose Host header a
    # client chooses: a reset link could be made to point elsewhere.
    site_url: str | None = None
    # The sites that may frame the embeddable calendar and polls (TORI_EMBED_ORIGINS). None by
    # default: then no site may frame any page of Tori's (clickjacking).
    embed_origins: tuple[str, ...] = ()
    # Pre-moderation (TORI_PREMODERATION, on by default): a resident's new idea is shown to
    # nobody but its author and staff until a staff member has checked it. Off, an idea is
    # public at once and staff hide it afterwards if needed.
    premoderation: bool = True
    # The city's map service as a URL template (TORI_MAP_URL), e.g.
    # "https://kartta.hel.fi/?e={lon}&n={lat}" or "https://maps.example.fi/?q={query}": a
    # proposal's page links there. Without it no map link is shown; no map is ever embedded, so
    # no page fetches anything from another site.
    map_url: str | None = None
    # Outbound e-mail (app/mail): the SMTP server as a URL, e.g.
    # smtp://user:password@mail.example.fi:587?starttls=1 or smtps://user:password@host:465.
    # Without it (development only) messages stay in the outbox, shown on /staff/mail.
    smtp_url: str | None = None
    # The certificate authorities (a PEM file) the SMTP server's certificate is checked against
    # with TLS or STARTTLS (TORI_SMTP_CA_FILE), for a relay with a certificate of the city's own
    # CA; without it, the system's trusted authorities.
    smtp_ca_file: str | None = None
    mail_from: str = DEFAULT_MAIL_FROM
    # Who residents contact about a message; shown at the foot of every message.
    contact_name: str = "Tori"
    contact_phone: str = ""
    # The sender runs inside each server process (TORI_MAIL_SENDER=0 leaves it to `tori mail`)
    # and looks for due messages this often (TORI_MAIL_POLL_SECONDS).
    mail_sender_in_server: bool = True
    mail_poll_seconds: float = 5.0
    # Sent (and finally undeliverable) messages are deleted after this many days.
    keep_sent_mail_days: int = 30
    # Uploaded pictures, in files named at random (TORI_MEDIA_DIR), and the largest upload taken
    # in megabytes (TORI_MAX_PICTURE_MB).
    media_dir: Path = field(default=DEFAULT_MEDIA_DIR)
    max_picture_mb: int = 10
    # The languages questionnaires and polls can be answered in (TORI_CONTENT_LANGUAGES, BCP 47
    # tags separated by commas; fi, sv and en always among them), and the interface shown for
    # one without a catalog of its own (TORI_INTERFACE_FALLBACK: en or fi). See app/i18n.py.
    content_languages: tuple[str, ...] = DEFAULT_CONTENT_LANGUAGES
    interface_fallback: str = "en"
    static_dir: Path = field(default=PROJECT_ROOT / "static")
    locale_dir: Path = field(default=PROJECT_ROOT / "locale")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def max_picture_bytes(self) -> int:
        return self.max_picture_mb * 1024 * 1024

    @property
    def roll_key(self) -> str:
        if self.roll_key_setting:
            return self.roll_key_setting
        return hmac.new(self.secret_key.encode(), b"tori voter roll", hashlib.sha256).hexdigest()

    @property
    def signing_seed(self) -> bytes:
        """The 32-byte Ed25519 seed; in development and tests derived from SECRET_KEY."""
        if self.signing_key_setting:
            return base64.b64decode(self.signing_key_setting)
        return hashlib.sha256(b"tori signing key\0" + self.secret_key.encode()).digest()

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            environment=env.get("TORI_ENV", "development").strip().lower() or "development",
            secret_key=env.get("SECRET_KEY")
            or (
                ""
                if env.get("TORI_ENV", "").strip().lower() == "production"
                else local_secret(Path(env.get("TORI_SECRET_FILE") or DEFAULT_SECRET_FILE))
            ),
            database_url=normalise_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            redis_url=env.get("REDIS_URL") or None,
            https=_flag(env.get("TORI_HTTPS")),
            debug=_flag(env.get("TORI_DEBUG")),
            timezone=env.get("TORI_TIMEZONE", "Europe/Helsinki"),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            database_pool_size=int(env.get("DATABASE_POOL_SIZE", "10")),
            contact_email=env.get("TORI_CONTACT_EMAIL", "osallisuus@example.fi"),
            answers_per_address=int(env.get("TORI_ANSWERS_PER_ADDRESS", "300")),
            votes_per_address=int(env.get("TORI_VOTES_PER_ADDRESS", "600")),
            fast_path=_flag(env.get("TORI_FAST_PATH"), default=True),
            shared_pages=_flag(env.get("TORI_SHARED_PAGES"), default=True),
            roll_key_setting=env.get("TORI_ROLL_KEY") or None,
            signing_key_setting=env.get("TORI_SIGNING_KEY") or None,
            oidc_issuer=env.get("OIDC_ISSUER") or None,
            oidc_client_id=env.get("OIDC_CLIENT_ID") or None,
            oidc_client_secret=env.get("OIDC_CLIENT_SECRET") or None,
            oidc_identifier_claim=env.get("OIDC_IDENTIFIER_CLAIM", "hetu"),
            keep_comments_months=_period(env, "TORI_KEEP_COMMENTS_MONTHS", 24),
            keep_roll_days=_period(env, "TORI_KEEP_ROLL_DAYS", 90),
            keep_unconfirmed_days=_period(env, "TORI_KEEP_UNCONFIRMED_DAYS", 7),
            keep_reports_days=_period(env, "TORI_KEEP_REPORTS_DAYS", 30),
            keep_idea_versions_days=_period(env, "TORI_KEEP_IDEA_VERSIONS_DAYS", 90),
            mix_batch=_period(env, "TORI_MIX_BATCH", 20),
            metrics=_flag(env.get("TORI_METRICS")),
            metrics_token=env.get("TORI_METRICS_TOKEN") or None,
            trusted_proxies=_proxies(env.get("TORI_TRUSTED_PROXIES")),
            site_url=_site_url(env.get("TORI_SITE_URL")),
            embed_origins=_origins(env.get("TORI_EMBED_ORIGINS")),
            premoderation=_flag(env.get("TORI_PREMODERATION"), default=True),
            map_url=env.get("TORI_MAP_URL", "").strip() or None,
            smtp_url=env.get("SMTP_URL") or None,
            smtp_ca_file=env.get("TORI_SMTP_CA_FILE") or None,
            mail_from=env.get("TORI_MAIL_FROM") or DEFAULT_MAIL_FROM,
            contact_name=env.get("TORI_CONTACT_NAME") or "Tori",
            contact_phone=env.get("TORI_CONTACT_PHONE", ""),
            mail_sender_in_server=_flag(env.get("TORI_MAIL_SENDER"), default=True),
            mail_poll_seconds=_seconds(env, "TORI_MAIL_POLL_SECONDS", 5.0),
            keep_sent_mail_days=_period(env, "TORI_KEEP_SENT_MAIL_DAYS", 30),
            media_dir=Path(env.get("TORI_MEDIA_DIR") or DEFAULT_MEDIA_DIR),
            max_picture_mb=_megabytes(env, "TORI_MAX_PICTURE_MB", 10),
            content_languages=_content_languages(env.get("TORI_CONTENT_LANGUAGES")),
            interface_fallback=_interface_fallback(env.get("TORI_INTERFACE_FALLBACK")),
        )
        settings.check()
        return settings

    def _check_smtp_url(self) -> None:
        if self.smtp_url:
            from app.mail.smtp import SmtpUrlError, parse_smtp_url  # noqa: PLC0415

            try:
                parse_smtp_url(self.smtp_url)
            except SmtpUrlError as error:
                raise InsecureSettingsError(f"SMTP_URL: {error}") from None
        if self.smtp_ca_file and not Path(self.smtp_ca_file).is_file():
            raise InsecureSettingsError(
                f"TORI_SMTP_CA_FILE must name a PEM file of certificate authorities, not "
                f"{self.smtp_ca_file[:120]!r}."
            )

    def _check_map_url(self) -> None:
        if self.map_url and (problem := map_url_problem(self.map_url)):
            raise InsecureSettingsError(f"{problem}, not {self.map_url[:120]!r}.")

    def _operations_problems(self) -> list[str]:
        problems = []
        if not (self.site_url or "").startswith("https://"):
            problems.append(
                "TORI_SITE_URL must be set to the site's public https:// address (links in "
                "e-mail and on posters point there, never to the Host a request names)"
            )
        if any(not origin.startswith("https://") for origin in self.embed_origins):
            problems.append("TORI_EMBED_ORIGINS must list https:// origins only")
        if self.metrics and len(self.metrics_token or "") < MIN_SECRET_LENGTH:
            problems.append(
                f"TORI_METRICS_TOKEN must be a random value of at least {MIN_SECRET_LENGTH} "
                "characters when TORI_METRICS is on (scrapes send it as a bearer token)"
            )
        return problems

    def _mail_problems(self) -> list[str]:
        problems = []
        if not self.smtp_url:
            problems.append(
                "SMTP_URL must name the SMTP server that delivers e-mail (for example "
                "smtp://user:password@mail.example.fi:587?starttls=1); residents cannot confirm "
                "an account or reset a password without it"
            )
        if self.mail_from == DEFAULT_MAIL_FROM:
            problems.append("TORI_MAIL_FROM must be the city's own sender address")
        return problems

    def check(self) -> None:
        """Refuse settings that would be unsafe in production, with a message saying what to fix."""
        if self.environment not in {"development", "production", "test"}:
            raise InsecureSettingsError(
                f"TORI_ENV must be development, test or production, not {self.environment!r}."
            )
        if len(self.secret_key) < MIN_SECRET_LENGTH and not self.is_production:
            raise InsecureSettingsError(
                f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters (or unset in "
                "development, where a random one is made in .tori-secret)."
            )
        self._check_smtp_url()
        self._check_map_url()
        if not self.is_production:
            return
        problems = []
        if len(self.secret_key) < MIN_SECRET_LENGTH:
            problems.append(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
                'characters (for example: python3 -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if self.debug:
            problems.append("TORI_DEBUG must be off")
        if not self.https:
            problems.append("TORI_HTTPS must be on (Tori is served over HTTPS in production)")
        if not self.roll_key_setting or len(self.roll_key_setting) < MIN_SECRET_LENGTH:
            problems.append(
                f"TORI_ROLL_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
                "characters, kept apart from SECRET_KEY (it keys the voter roll's identifiers)"
            )
        if not _is_signing_seed(self.signing_key_setting):
            problems.append(
                "TORI_SIGNING_KEY must be set to the base64 of 32 random bytes (for example: "
                'python3 -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"); '
                "it signs published results"
            )
        if self.mix_batch < MIN_MIX_BATCH:
            problems.append(
                f"TORI_MIX_BATCH must be at least {MIN_MIX_BATCH} (ballots join the public log "
                "in shuffled batches of at least this many per district)"
            )
        if self.map_url and not self.map_url.startswith("https://"):
            problems.append("TORI_MAP_URL must be an https:// address")
        problems += self._operations_problems()
        problems += self._mail_problems()
        if self.uses_sqlite:
            problems.append("DATABASE_URL must point to PostgreSQL, not the embedded SQLite file")
        if problems:
            raise InsecureSettingsError(
                "Refusing to start in production mode: " + "; ".join(problems) + "."
            )

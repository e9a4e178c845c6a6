"""The Jinja environment shared by every feature package, and the language of each request."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope
from markupsafe import Markup

from app import PROJECT_ROOT
from app.cookies import private_cookie
from app.features import (
    account_menus,
    event_links,
    public_links,
    staff_links,
    template_directories,
)
from app.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_NAMES,
    LANGUAGES,
    Formatter,
    content_language,
    content_languages,
    current_language,
    gettext,
    localized,
    localized_language,
    negotiate_language,
    ngettext,
    pgettext,
    set_language,
    text_direction,
)
from app.security import form_token
from app.settings import Settings

# The core's templates; each feature brings its own (Feature.template_directories).
CORE_TEMPLATES = PROJECT_ROOT / "app" / "templates"
ONE_YEAR = 365 * 24 * 3600


class Renderer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.formatter = Formatter(settings.timezone)
        self.environment = Environment(
            loader=FileSystemLoader([str(CORE_TEMPLATES), *map(str, template_directories())]),
            autoescape=select_autoescape(["html", "xml", "svg"]),
            extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.install_gettext_callables(
            gettext, ngettext, newstyle=True, pgettext=pgettext
        )
        self._static_versions: dict[str, str] = {}
        self.environment.globals.update(
            LANGUAGES=LANGUAGES,
            LANGUAGE_NAMES=LANGUAGE_NAMES,
            current_language=current_language,
            content_language=content_language,
            content_languages=content_languages,
            text_direction=text_direction,
            page_language=page_language,
            ui_lang=ui_lang,
            ui_text=ui_text,
            static_url=self.static_url,
            language_url=language_url,
            query_url=query_url,
            contact_email=settings.contact_email,
            feature_staff_links=staff_links,
            feature_public_links=public_links,
            feature_event_links=event_links,
            feature_account_menus=account_menus,
            shows_errors=shows_errors,
            **self.formatter.template_globals(),
        )
        self.environment.filters["loc"] = localized
        self.environment.filters["capfirst"] = lambda text: (
            text[:1].upper() + text[1:] if text else text
        )
        self.environment.filters["loc_lang"] = localized_language
        self.environment.filters["loc_attrs"] = localized_attributes

    def static_url(self, name: str) -> str:
        """A URL that changes when the file does, so browsers may cache it for a year."""
        version = self._static_versions.get(name)
        if version is None:
            path = Path(self.settings.static_dir) / name
            version = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            self._static_versions[name] = version
        return f"/static/{name}?v={version}"

    def choose_language(self, request: Request) -> str:
        explicit = request.query_params.get("lang")
        language = negotiate_language(
            explicit, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
        )
        set_language(language)
        request.state.language = language
        request.state.remember_language = (
            explicit in content_languages() and explicit != request.cookies.get(LANGUAGE_COOKIE)
        )
        return language

    def render(self, request: Request, name: str, context: dict[str, Any]) -> str:
        template = self.environment.get_template(name)
        return template.render(
            request=request,
            csrf_token=lambda: form_token(request),
            csrf_input="",
            current_user=request.scope.get("user"),
            **context,
        )

    def remember_language_hook(self):
        """A `before_send` hook: an explicit `?lang=` choice is remembered in a cookie for a year."""
        https = self.settings.https

        async def remember_language(message: Message, scope: Scope) -> None:
            if message["type"] != "http.response.start":
                return
            state = scope.get("state", {})
            if state.get("remember_language"):
                cookie = private_cookie(
                    LANGUAGE_COOKIE,
                    state["language"],
                    secure=https,
                    max_age=ONE_YEAR,
                )
                MutableScopeHeaders.from_message(message).add(
                    "set-cookie", cookie.to_header(header="")
                )

        return remember_language


# Context names under which pages pass errors that are not a Form's (answers, a poll vote, the
# voter roll, publishing).
_ERROR_NAMES = ("error", "errors", "roll_errors")


@pass_context
def shows_errors(context: Context) -> bool:
    """Whether the page shows an error summary: its title then starts with "Error:", so that a
    screen reader names the problem first, with or without JavaScript."""
    for name, value in context.get_all().items():
        if name in _ERROR_NAMES and value:
            return True
        errors = getattr(value, "errors", None)
        if isinstance(errors, dict) and errors:
            return True
    return False


@pass_context
def page_language(context: Context) -> str:
    """What the page as a whole is written in: on a page of content in the reader's chosen
    language (a questionnaire or poll that has it: the page passes `content_page`), that
    language; elsewhere the interface's."""
    if context.get("content_page"):
        return content_language()
    return current_language()


def _attributes(language: str, page: str, *, with_direction: bool, always: bool = False) -> Markup:
    if language == page and not always:
        return Markup("")
    attributes = f' lang="{language}"'
    if with_direction and text_direction(language) != text_direction(page):
        attributes += f' dir="{text_direction(language)}"'
    return Markup(attributes)  # noqa: S704 - language codes from the fixed lists, no input


@pass_context
def ui_lang(context: Context) -> Markup:
    """` lang="en"` on a block of interface text (a header, a form's hints) when the page is in
    another language (a questionnaire in Arabic with the English interface), else nothing."""
    return _attributes(current_language(), page_language(context), with_direction=False)


@pass_context
def ui_text(context: Context) -> Markup:
    """As `ui_lang`, with the text's own direction when it differs from the page's (English
    text on a right-to-left page), for a paragraph, a label or a button."""
    return _attributes(current_language(), page_language(context), with_direction=True)


@pass_context
def localized_attributes(context: Context, value: Any) -> Markup:
    """` lang=".."` for staff-entered or questionnaire text, with `dir` where its direction
    differs from the page's (a question not yet translated, shown in English on an Arabic
    page)."""
    return _attributes(
        localized_language(value), page_language(context), with_direction=True, always=True
    )


def language_url(request: Request, language: str) -> str:
    """The current page in another language; works without JavaScript."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", language))
    return f"{request.url.path}?{urlencode(params)}"


def query_url(request: Request, **changes: Any) -> str:
    """The current page with some query parameters changed (None removes one)."""
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path

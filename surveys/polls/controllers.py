"""Residents' side of polls: the poll page, one tap per answer, results, QR code, poster, kiosk."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.areas.services import list_areas
from app.cookies import private_cookie
from app.dependencies import AppSettings, DbSession
from app.errors import ForbiddenError
from app.fastpath import FAST_PATH_OPTIONS, fast_path, shown_again, take_once
from app.forms import read_form
from app.i18n import (
    LANGUAGES,
    N_,
    content_languages,
    gettext,
    interface_language,
    set_language,
)
from app.page_cache import SHARED_PAGE, per_request
from app.qr import qr_image
from app.requests import ascii_int, is_htmx, site_url
from app.security import (
    EMBEDDABLE,
    FORM_EXPIRED,
    FORM_TOKEN_CHECKED_BY_HANDLER,
    form_token_accepted,
)
from app.state import DATABASE
from surveys.polls import services
from surveys.polls.live import POLL_NOTIFIER, live_stream
from surveys.polls.services import PollChannel, PollStatus
from surveys.polls.votes import (
    KIOSK_COOKIE,
    KIOSK_REVOKED,
    AlreadyVoted,
    FormExpired,
    Refusal,
    is_kiosk,
    take_vote,
    voted_ids,
)
from surveys.posters import poster

KIOSK_RESET_SECONDS = 8
# A kiosk tablet stays set up for a season of pop-ups; staff revoke it sooner when it is lost.
KIOSK_COOKIE_SECONDS = 90 * 24 * 3600
POSTER_CALL = N_("Quick poll – answer with one tap!")
POSTER_HELP = N_(
    "Scan the code with your phone's camera or open the address. No registration; you answer anonymously."
)


def public_url(request: Request, slug: str, query: str = "") -> str:
    return site_url(request, f"/p/{slug}{query}")


def address_in_language(current: str, slug: str, language: str) -> str:
    """The poll's address as the browser shows it (`HX-Current-URL`), with `lang` changed; the
    poll's own address when that one is not the poll's."""
    url = urlsplit(current)
    if url.path != f"/p/{slug}":
        return f"/p/{slug}?lang={language}"
    query = [(key, value) for key, value in parse_qsl(url.query) if key != "lang"]
    return f"/p/{slug}?{urlencode([*query, ('lang', language)])}"


def one_tap(questions) -> bool:
    """A single one-choice question is answered by tapping its option: no separate send button."""
    return len(questions) == 1 and questions[0].type in ("single", "yes_no", "scale5")


def kiosk_home(kiosk, poll) -> str | None:
    """The start page of an event's kiosk (the event's kit), or None for a poll's own kiosk."""
    if kiosk is not None and kiosk.event_id is not None and kiosk.event_id == poll.event_id:
        return f"/events/{kiosk.event_id}/kit"
    return None


class PollController(Controller):
    path = "/p"

    async def _page(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        slug: str,
        *,
        kiosk: bool = False,
        errors: dict[str, str] | None = None,
        values: dict[str, list[str]] | None = None,
        status_code: int = 200,
        whole_page: bool = False,
    ) -> Template:
        poll = await services.poll_by_slug(db_session, slug)
        state = services.poll_status(poll)
        if (
            state == PollStatus.OPEN
            and not kiosk
            and str(poll.id) in voted_ids(request, settings.secret_key)
        ):
            state = "voted"
        questions = services.questions_of(poll)
        # The interface languages, and the other content languages the poll is written in.
        languages = [
            code for code in content_languages() if code in LANGUAGES or code in poll.languages
        ]
        language = request.state.language
        if language not in languages:
            language = interface_language(language)
        secret, poll_slug = settings.secret_key, poll.slug
        # After a refused vote the form keeps the channel and area it was sent with.
        sent = values or {}
        via = (sent.get("channel") or [request.query_params.get("via")])[0]
        area = (sent.get("area") or [request.query_params.get("area", "")])[0]
        context = {
            "poll": poll,
            "state": state,
            "questions": questions,
            "poll_languages": languages,
            "answer_language": language,
            "content_page": language == request.state.language,
            "one_tap": one_tap(questions),
            "errors": errors or {},
            "values": values or {},
            # One-use: a page shared by anonymous readers gets a fresh one for each of them.
            "token": per_request(
                request, lambda _request: services.new_vote_token(secret, poll_slug)
            ),
            "channel": PollChannel.KIOSK
            if kiosk
            else (PollChannel.QR if via == PollChannel.QR else PollChannel.LINK),
            "area": area if ascii_int(area, maximum=10**9) is not None else "",
            "kiosk": kiosk,
            "results_public": services.results_public(poll),
        }
        if is_htmx(request) and not whole_page:
            return Template(
                template_name="polls/_poll.html", context=context, status_code=status_code
            )
        # htmx asked for the poll but gets the whole page (another language): it replaces the page.
        headers = {"HX-Retarget": "body", "HX-Reswap": "innerHTML"} if is_htmx(request) else {}
        return Template(
            template_name="polls/poll.html",
            context=context,
            status_code=status_code,
            headers=headers,
        )

    async def _page_again(
        self,
        request: Request,
        settings: AppSettings,
        slug: str,
        submitted: dict[str, list[str]],
        kiosk: bool,
        errors: dict[str, str] | None,
        status_code: int,
        *,
        expired: bool,
        whole_page: bool = False,
    ) -> Template:
        """The poll again with the choices sent (a refusal, a language switch)."""
        return await shown_again(
            request,
            lambda session: self._page(
                request,
                session,
                settings,
                slug,
                kiosk=kiosk,
                errors=errors,
                values=submitted,
                status_code=status_code,
                whole_page=whole_page,
            ),
            expired=expired,
        )

    @get("/{slug:str}", name="poll", opt=SHARED_PAGE)
    async def show(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        return await self._page(request, db_session, settings, slug)

    @post(
        "/{slug:str}",
        status_code=303,
        middleware=[fast_path(take_vote)],
        opt=FAST_PATH_OPTIONS,
    )
    async def vote(
        self, request: Request, settings: AppSettings, slug: FromPath[str]
    ) -> Template | Redirect:
        """Store a vote (a plain form, htmx or a kiosk); anything refused - an expired form
        included - shows the poll again with the choices made."""
        submitted = await read_form(request)
        kiosk = is_kiosk(submitted)

        async def show_again(
            errors: dict[str, str], status_code: int, *, expired: bool = False
        ) -> Template:
            return await self._page_again(
                request, settings, slug, submitted, kiosk, errors, status_code, expired=expired
            )

        try:
            taken = await take_once(request, lambda: take_vote(request, submitted))
        except FormExpired:
            # No such poll: a post without a valid token is refused all the same.
            return await show_again({"": gettext(FORM_EXPIRED)}, 403, expired=True)
        except AlreadyVoted:
            # Not an error to correct: the page says the vote is in, as after the first tap.
            return await show_again({}, 409)
        except Refusal as refusal:
            return await show_again(refusal.errors or {"": refusal.message}, refusal.status)

        if is_htmx(request):
            # htmx swaps the thanks in place; the address bar follows for reloads and sharing.
            async with DATABASE.of(request).sessionmaker() as session:
                poll = await services.poll_by_slug(session, slug)
                home = None
                if kiosk:
                    device = await services.active_kiosk(session, request.cookies.get(KIOSK_COOKIE))
                    home = kiosk_home(device, poll)
                return Template(
                    template_name="polls/_thanks.html",
                    context=await self._thanks_context(session, poll, kiosk=kiosk, kiosk_home=home),
                    headers={"HX-Push-Url": taken.location},
                    cookies=taken.cookies,
                    status_code=200,
                )
        return Redirect(path=taken.location, status_code=303, cookies=taken.cookies)

    @post("/{slug:str}/language", opt=FORM_TOKEN_CHECKED_BY_HANDLER)
    async def switch_language(
        self, request: Request, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        """The language buttons of an open poll send the choices made so far here: the poll comes
        back in the chosen language with them kept, and nothing is stored (the same as the
        questionnaire's language buttons; the vote itself is only ever sent to `vote`)."""
        submitted = await read_form(request)
        kiosk = (submitted.get("channel") or [""])[0] == "kiosk"
        accepted = form_token_accepted(request, submitted)
        switch_to = (submitted.get("_switch_language") or [""])[0]
        if accepted and switch_to in content_languages():
            set_language(switch_to)
            request.state.language = switch_to
            request.state.remember_language = True
        page = await self._page_again(
            request,
            settings,
            slug,
            submitted,
            kiosk,
            None if accepted else {"": gettext(FORM_EXPIRED)},
            200 if accepted else 403,
            expired=not accepted,
            whole_page=True,
        )
        if is_htmx(request) and accepted and switch_to in content_languages():
            # The address bar follows the language, so that a reload shows the same page.
            page.headers["HX-Replace-Url"] = address_in_language(
                request.headers.get("HX-Current-URL", ""), slug, switch_to
            )
        return page

    @get("/{slug:str}/language")
    async def language_address(self, slug: FromPath[str]) -> Redirect:
        """The address a language switch leaves in the address bar, opened again: the poll."""
        return Redirect(path=f"/p/{slug}", status_code=303)

    async def _thanks_context(
        self, session, poll, *, kiosk: bool, kiosk_home: str | None = None
    ) -> dict:
        public = services.results_public(poll)
        return {
            "poll": poll,
            "kiosk": kiosk,
            # Where the kiosk starts again: the poll, or the event's kit on an event's kiosk.
            "kiosk_home": kiosk_home or f"/p/{poll.slug}/kiosk",
            "results_public": public,
            "results": await services.poll_results(session, poll) if public else None,
            "reset_seconds": KIOSK_RESET_SECONDS,
        }

    @get("/{slug:str}/thanks")
    async def thanks(self, db_session: DbSession, slug: FromPath[str]) -> Template:
        poll = await services.poll_by_slug(db_session, slug)
        return Template(
            template_name="polls/thanks.html",
            context=await self._thanks_context(db_session, poll, kiosk=False),
        )

    @get("/{slug:str}/results", name="poll_results")
    async def results(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template:
        poll = await services.poll_by_slug(db_session, slug)
        public = services.results_public(poll)
        context = {
            "poll": poll,
            "results_public": public,
            "results": await services.poll_results(db_session, poll) if public else None,
            "live_source": f"/p/{poll.slug}/live",
            "state": services.poll_status(poll),
        }
        if is_htmx(request):
            return Template(template_name="polls/_results.html", context=context)
        return Template(
            template_name="polls/results.html",
            context=context,
            status_code=200 if public else 403,
        )

    @get("/{slug:str}/embed", name="poll_embed", opt={**SHARED_PAGE, **EMBEDDABLE})
    async def embed(self, db_session: DbSession, slug: FromPath[str]) -> Template:
        """The poll in a frame on the city's own pages: its question, its results when they are
        public, and a link that opens the poll in a new tab. Answering happens on Tori's own
        page, never inside another site's frame (no third-party cookies, no clickjacking)."""
        poll = await services.poll_by_slug(db_session, slug)
        public = services.results_public(poll)
        return Template(
            template_name="polls/embed.html",
            context={
                "poll": poll,
                "results_public": public,
                "results": await services.poll_results(db_session, poll) if public else None,
                "state": services.poll_status(poll),
                "questions": services.questions_of(poll),
                "embedded": True,
            },
        )

    @get("/{slug:str}/live", opt={"skip_compression": True})
    async def live(self, request: Request, db_session: DbSession, slug: FromPath[str]) -> Response:
        poll = await services.poll_by_slug(db_session, slug)
        if not services.results_public(poll):
            return Response(content="", status_code=204)
        return live_stream(request, POLL_NOTIFIER.of(request), poll.id)

    @get("/{slug:str}/qr.svg", media_type="image/svg+xml")
    async def qr_code(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Response:
        poll = await services.poll_by_slug(db_session, slug)
        return qr_image(public_url(request, poll.slug, "?via=qr"))

    @get("/{slug:str}/poster", name="poll_poster")
    async def poster(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template:
        poll = await services.poll_by_slug(db_session, slug)
        languages = poll.languages or ["fi"]
        areas = {str(area.id) for area in await list_areas(db_session)}
        area = request.query_params.get("area", "")
        query = f"?via=qr&area={area}" if area in areas else "?via=qr"
        return poster(
            title=poll.title,
            languages=languages,
            url=public_url(request, poll.slug),
            qr_url=public_url(request, poll.slug, query),
            qr_label=gettext("QR code that opens the poll"),
            call=POSTER_CALL,
            help_text=POSTER_HELP,
            size=request.query_params.get("size"),
        )

    @get("/{slug:str}/kiosk", name="poll_kiosk")
    async def kiosk(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        poll = await services.poll_by_slug(db_session, slug)
        kiosk = await services.active_kiosk(db_session, request.cookies.get(KIOSK_COOKIE))
        if not services.kiosk_opens_poll(kiosk, poll):
            raise ForbiddenError(KIOSK_REVOKED)
        if request.query_params.get("voted"):
            context = await self._thanks_context(
                db_session, poll, kiosk=True, kiosk_home=kiosk_home(kiosk, poll)
            )
            return Template(template_name="polls/kiosk_thanks.html", context=context)
        return await self._page(request, db_session, settings, slug, kiosk=True)


class KioskStartController(Controller):
    """Staff open `/kiosk?t=<token>` once on the tablet; the token moves into a cookie. A poll's
    kiosk opens that poll; an event's kiosk (the pop-up kit) opens the event's kit page, whose
    questionnaire and polls it answers, so its cookie goes to every path."""

    path = "/kiosk"

    @get("/")
    async def start(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Redirect:
        token = request.query_params.get("t", "")
        kiosk = await services.active_kiosk(db_session, token)
        if kiosk is None:
            raise ForbiddenError(KIOSK_REVOKED)
        if kiosk.event_id is not None:
            start, cookie_path = f"/events/{kiosk.event_id}/kit", "/"
        else:
            poll = await services.get_poll(db_session, kiosk.poll_id)
            start, cookie_path = f"/p/{poll.slug}/kiosk", "/p"
        return Redirect(
            path=start,
            status_code=303,
            cookies=[
                private_cookie(
                    KIOSK_COOKIE,
                    token,
                    secure=settings.https,
                    max_age=KIOSK_COOKIE_SECONDS,
                    path=cookie_path,
                )
            ],
            headers={"Referrer-Policy": "no-referrer"},
        )

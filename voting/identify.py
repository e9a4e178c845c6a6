"""Strong identification of voters through an OpenID Connect identity broker.

The authorization code flow with PKCE, state and nonce (authlib's helpers), the ID token
checked against the provider's published keys (joserfc, authlib's JOSE library): issuer,
audience, expiry and nonce. The verified personal identifier (the claim named by
OIDC_IDENTIFIER_CLAIM) is turned into the roll's keyed hash at once and never stored or
logged; the voter then holds the same short-lived voter cookie as after a letter code.
"""

from __future__ import annotations

import json
import logging

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.cookies import private_cookie
from app.dependencies import AppSettings, DbSession
from app.forms import Form
from app.i18n import N_, current_language, gettext
from app.requests import local_path
from app.signing import sign, unsign
from voting import rounds
from voting.identified import identified_resident
from voting.models import Round
from voting.oidc import (
    CALLBACK_PATH,
    IdentificationError,
    callback_url,
    identified_entry,
    identifier_of,
    provider,
    subject_of,
    verified_claims,
)
from voting.pages import round_context
from voting.resident_accounts import (
    end_resident_session,
    session_cookie,
    session_token,
    start_resident_session,
)
from voting.translations import VOTING_NOT_READY, ballot_translated
from voting.voters import today_in, voter_cookie

log = logging.getLogger("tori.identify")
FLOW_COOKIE = "tori_oidc"
FLOW_SECONDS = 10 * 60


def flow_cookie_value(secret: str, flow: dict) -> str:
    """The sign-in in progress, signed with the time of signing."""
    return sign(secret, "oidc-flow", json.dumps(flow))


def read_flow(secret: str, value: str | None) -> dict | None:
    """The sign-in in progress; None when the cookie is missing, altered, or older than
    FLOW_SECONDS (itsdangerous checks the age)."""
    raw = unsign(secret, "oidc-flow", value, max_length=1000, max_age=FLOW_SECONDS)
    flow = json.loads(raw) if raw else None
    return flow if isinstance(flow, dict) else None


async def start_identification(request: Request, settings, purpose: dict) -> Redirect:
    """Off to the identity provider, with the flow (`purpose`: {"round": slug} to vote, or
    {"ideas": next path} to send ideas) in a signed cookie for the way back."""
    found = await provider(request)
    flow = {
        **purpose,
        "state": generate_token(32),
        "nonce": generate_token(32),
        "verifier": generate_token(64),
    }
    target = add_params_to_uri(
        found.authorization_endpoint,
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": callback_url(request),
            "scope": "openid",
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": create_s256_code_challenge(flow["verifier"]),
            "code_challenge_method": "S256",
        },
    )
    cookie = private_cookie(
        # The provider sends the browser back with a top-level GET: Lax lets the cookie come.
        FLOW_COOKIE,
        flow_cookie_value(settings.secret_key, flow),
        secure=settings.https,
        max_age=FLOW_SECONDS,
        path=CALLBACK_PATH,
    )
    return Redirect(path=target, status_code=303, cookies=[cookie])


class IdentifyController(Controller):
    path = "/pb"

    @post("/{slug:str}/identify", status_code=303)
    async def start(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Redirect:
        round_ = await rounds.round_by_slug(db_session, slug)
        if not settings.oidc_configured:
            raise IdentificationError(N_("Strong identification is not in use."))
        if rounds.phase_of(round_) != "voting":
            raise IdentificationError(N_("Voting is not open in this round."))
        if not await ballot_translated(db_session, round_.id):
            raise IdentificationError(VOTING_NOT_READY)
        return await start_identification(request, settings, {"round": round_.slug})

    @get("/identified")
    async def callback(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Redirect | Template:
        flow = read_flow(settings.secret_key, request.cookies.get(FLOW_COOKIE))
        state = request.query_params.get("state", "")
        code = request.query_params.get("code", "")
        if not flow or not state or state != flow["state"] or not code or len(code) > 2000:
            raise IdentificationError(N_("The identification did not succeed. Try again."))
        try:
            issuer, claims = await verified_claims(request, code, flow)
        except httpx.HTTPError as error:
            log.warning("identity provider unreachable: %s", type(error).__name__)
            raise IdentificationError(
                N_("The identification service did not answer. Try again in a moment.")
            ) from error
        if "ideas" in flow:
            return await self._signed_in_for_ideas(
                request, db_session, settings, flow, issuer, claims
            )
        round_ = await rounds.round_by_slug(db_session, str(flow.get("round", "")))
        identifier = identifier_of(settings, claims)
        entry, problem = await identified_entry(
            db_session, round_, settings.roll_key, identifier, today_in(settings)
        )
        if problem:
            return self._refused(round_, gettext(problem) % {"age": round_.min_age})
        response = Redirect(
            path=f"/pb/{round_.slug}/ballot",
            status_code=303,
            cookies=[voter_cookie(settings, round_, entry, "online")],
        )
        response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
        return response

    @staticmethod
    async def _signed_in_for_ideas(request, db_session, settings, flow, issuer, claims):
        """A resident's session tied to the keyed hash of the provider's subject, and back to
        where they were going (the idea form)."""
        resident = await identified_resident(
            db_session, settings.roll_key, issuer, subject_of(claims), current_language()
        )
        # A session this browser had before (another account's, say) ends here.
        await end_resident_session(db_session, session_token(request))
        token = await start_resident_session(db_session, resident)
        response = Redirect(
            path=local_path(str(flow["ideas"]), "/pb"),
            status_code=303,
            cookies=[session_cookie(settings, token)],
        )
        response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
        return response

    @staticmethod
    def _refused(round_: Round, message: str) -> Template:
        form = Form()
        form.add_error("form", message)
        return Template(
            template_name="pb/vote_sign_in.html",
            context={**round_context(round_), "form": form, "oidc": True},
            status_code=403,
        )

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
import time
from dataclasses import dataclass

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.dependencies import AppSettings, DbSession
from app.errors import DomainError
from app.forms import Form
from app.i18n import N_, gettext
from app.signing import sign, unsign
from voting import rounds
from voting.controllers import round_context, today_in, voter_cookie
from voting.models import Round
from voting.roll import eligibility_problem, find_on_roll

log = logging.getLogger("tori.identify")
FLOW_COOKIE = "tori_oidc"
FLOW_SECONDS = 10 * 60
CALLBACK_PATH = "/pb/identified"
HTTP_TIMEOUT = 10.0


class IdentificationError(DomainError):
    pass


@dataclass
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    fetched_at: float


async def provider(request: Request) -> Provider:
    """The identity provider's endpoints, from its discovery document (kept for an hour)."""
    settings = request.app.state.settings
    known = request.app.state.get("oidc_provider")
    if known and time.monotonic() - known.fetched_at < 3600:
        return known
    url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        response = await client.get(url)
        response.raise_for_status()
        document = response.json()
    found = Provider(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        fetched_at=time.monotonic(),
    )
    request.app.state.oidc_provider = found
    return found


def callback_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{CALLBACK_PATH}"


async def verified_identifier(request: Request, code: str, flow: dict) -> str:
    """Exchange the code for tokens and return the identifier in the checked ID token."""
    settings = request.app.state.settings
    found = await provider(request)
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        token_response = await client.post(
            found.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback_url(request),
                "code_verifier": flow["verifier"],
            },
            auth=(settings.oidc_client_id, settings.oidc_client_secret),
        )
        if token_response.status_code != 200:
            raise IdentificationError(N_("The identification did not succeed. Try again."))
        keys = (await client.get(found.jwks_uri)).json()
    id_token = token_response.json().get("id_token")
    if not isinstance(id_token, str):
        raise IdentificationError(N_("The identification did not succeed. Try again."))
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(keys))
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": found.issuer},
            aud={"essential": True, "value": settings.oidc_client_id},
            nonce={"essential": True, "value": flow["nonce"]},
            exp={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError) as error:
        log.warning("ID token refused: %s", type(error).__name__)
        raise IdentificationError(N_("The identification did not succeed. Try again.")) from error
    identifier = token.claims.get(settings.oidc_identifier_claim)
    if not isinstance(identifier, str) or not identifier:
        raise IdentificationError(
            N_("The identity provider did not tell your personal identity code.")
        )
    return identifier


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
        found = await provider(request)
        flow = {
            "round": round_.slug,
            "state": generate_token(32),
            "nonce": generate_token(32),
            "verifier": generate_token(64),
            "expires": int(time.time()) + FLOW_SECONDS,
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
        cookie = Cookie(
            key=FLOW_COOKIE,
            value=sign(settings.secret_key, "oidc-flow", json.dumps(flow)),
            httponly=True,
            # The provider sends the browser back with a top-level GET: Lax lets the cookie come.
            samesite="lax",
            secure=settings.https,
            path=CALLBACK_PATH,
            max_age=FLOW_SECONDS,
        )
        return Redirect(path=target, status_code=303, cookies=[cookie])

    @get("/identified")
    async def callback(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Redirect | Template:
        raw = unsign(
            settings.secret_key, "oidc-flow", request.cookies.get(FLOW_COOKIE), max_length=1000
        )
        flow = json.loads(raw) if raw else None
        state = request.query_params.get("state", "")
        code = request.query_params.get("code", "")
        if (
            not flow
            or flow["expires"] < time.time()
            or not state
            or state != flow["state"]
            or not code
            or len(code) > 2000
        ):
            raise IdentificationError(N_("The identification did not succeed. Try again."))
        round_ = await rounds.round_by_slug(db_session, flow["round"])
        try:
            identifier = await verified_identifier(request, code, flow)
        except httpx.HTTPError as error:
            log.warning("identity provider unreachable: %s", type(error).__name__)
            raise IdentificationError(
                N_("The identification service did not answer. Try again in a moment.")
            ) from error
        entry = await find_on_roll(db_session, round_.id, settings.roll_key, identifier)
        problem = (
            N_("You are not on the voter roll of this round.")
            if entry is None
            else eligibility_problem(round_, entry, today_in(settings))
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
    def _refused(round_: Round, message: str) -> Template:
        form = Form()
        form.add_error("form", message)
        return Template(
            template_name="pb/vote_sign_in.html",
            context={**round_context(round_), "form": form, "oidc": True},
            status_code=403,
        )

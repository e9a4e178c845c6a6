"""Strong identification through an OpenID Connect identity broker: the provider's endpoints,
the code exchanged for an ID token checked against the provider's keys, and the roll entry of
the identified person (see voting/identify.py for the pages and the flow's cookie)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError
from app.i18n import N_
from app.requests import site_url
from app.state import SETTINGS, Slot
from voting.models import RollEntry, Round
from voting.roll import eligibility_problem, find_on_roll

log = logging.getLogger("tori.identify")
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


# The provider's endpoints each worker keeps (fetched again after an hour).
OIDC_PROVIDER: Slot[Provider] = Slot("oidc_provider")


async def provider(request: Request) -> Provider:
    """The identity provider's endpoints, from its discovery document (kept for an hour)."""
    settings = SETTINGS.of(request)
    known = OIDC_PROVIDER.get(request)
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
    OIDC_PROVIDER.set(request, found)
    return found


def callback_url(request: Request) -> str:
    return site_url(request, CALLBACK_PATH)


async def verified_claims(request: Request, code: str, flow: dict) -> tuple[str, dict]:
    """Exchange the code for tokens; the provider's issuer and the checked ID token's claims."""
    settings = SETTINGS.of(request)
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
    return found.issuer, token.claims


def subject_of(claims: dict) -> str:
    """The provider's stable id of the person (`sub`, required in every ID token)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise IdentificationError(N_("The identification did not succeed. Try again."))
    return subject


def identifier_of(settings, claims: dict) -> str:
    """The personal identifier in the checked ID token (the claim OIDC_IDENTIFIER_CLAIM)."""
    identifier = claims.get(settings.oidc_identifier_claim)
    if not isinstance(identifier, str) or not identifier:
        raise IdentificationError(
            N_("The identity provider did not tell your personal identity code.")
        )
    return identifier


async def identified_entry(
    session: AsyncSession, round_: Round, key: str, identifier: str, today
) -> tuple[RollEntry | None, str | None]:
    """The identified person's roll entry, or the reason they cannot vote (a message id with
    the round's minimum age as `age`)."""
    entry = await find_on_roll(session, round_.id, key, identifier)
    if entry is None:
        return None, N_("You are not on the voter roll of this round.")
    return entry, eligibility_problem(round_, entry, today)

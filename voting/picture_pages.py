"""Staff handling of pictures, one set of handlers for every owner (a proposal, an
implementation milestone): add with a description, correct the description, move, remove.
A subclass names the owner (`owner_of`) and shows its page again after a refusal
(`page_again`); the rules are voting/pictures.py's."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import EDITORS, current_user, signed_in_staff
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError
from app.forms import Form, read_form
from app.media import MediaStore
from app.security import FORM_TOKEN_CHECKED_BY_HANDLER, form_token_accepted
from app.uploads import Upload, UploadError, read_upload
from voting import pictures
from voting.forms import read_picture_alt, read_picture_step, read_picture_upload

log = logging.getLogger("tori.voting")

# Room for the fields around an uploaded picture (the token, the descriptions, the headers).
PICTURE_FORM_BYTES = 64 * 1024
# The route's own cap, above any TORI_MAX_PICTURE_MB; the handler reads at most the setting's
# size (plus the fields) and refuses the rest with a message.
MAX_PICTURE_UPLOAD = 100 * 1024 * 1024 + PICTURE_FORM_BYTES


async def pictures_context(
    db_session, owner: pictures.PictureOwner, base: str, picture_form=None, alt_forms=None
) -> dict[str, Any]:
    """What pb/_staff_pictures.html needs: the owner's pictures, a description form for each
    (with its errors after a refusal), the add form, and where the forms post (`base`)."""
    shown = await pictures.pictures_of(db_session, owner)
    alt_forms = dict(alt_forms or {})
    for picture in shown:
        alt_forms.setdefault(
            picture.id, Form.prefilled({f"alt_{code}": text for code, text in picture.alt.items()})
        )
    return {
        "pictures": shown,
        "picture_owner": owner,
        "picture_form": picture_form or Form(),
        "alt_forms": alt_forms,
        "max_pictures": pictures.MAX_PICTURES,
        "max_alt": pictures.MAX_ALT_LENGTH,
        "pictures_base": base,
    }


class PictureActions(Controller):
    guards = [signed_in_staff]

    async def owner_of(self, db_session, params: dict) -> tuple[pictures.PictureOwner, str]:
        """The owner of the pictures at this path, and its staff page's path."""
        raise NotImplementedError

    async def page_again(self, db_session, params: dict, **forms) -> Template:
        """The owner's staff page with the refused form (the change was rolled back)."""
        raise NotImplementedError

    async def _again(self, db_session, params: dict, **forms) -> Template:
        await db_session.rollback()
        db_session.expunge_all()
        return await self.page_again(db_session, params, **forms)

    @staticmethod
    def _done(page: str) -> Redirect:
        return Redirect(path=page, query_params={"done": "picture"}, status_code=303)

    @post(
        "/pictures",
        # The token is checked here, after the body is parsed off the event loop.
        opt={"roles": EDITORS, **FORM_TOKEN_CHECKED_BY_HANDLER},
        status_code=303,
        request_max_body_size=MAX_PICTURE_UPLOAD,
    )
    async def add_picture(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        """A picture with its description in the owner's languages."""
        try:
            upload = await read_upload(request, settings.max_picture_bytes + PICTURE_FORM_BYTES)
        except UploadError as error:
            log.info("picture upload refused: %s", error)
            upload = Upload()
        if not form_token_accepted(request, upload.fields):
            raise PermissionDeniedException(detail="CSRF token verification failed")
        owner, page = await self.owner_of(db_session, request.path_params)
        form, data, alt = read_picture_upload(upload)
        if form.is_valid:
            try:
                await pictures.attach(
                    db_session,
                    MediaStore(settings.media_dir),
                    owner,
                    data,
                    alt,
                    current_user(request),
                    max_bytes=settings.max_picture_bytes,
                )
            except DomainError as error:
                form.add_errors(error.form_errors())
            else:
                return self._done(page)
        return await self._again(db_session, request.path_params, picture_form=form)

    async def _change(
        self, request, db_session, picture_id: int, read, act, again_with
    ) -> Template | Redirect:
        """One picture's change: `read(form)` (None with the form's errors), then `act(owner,
        picture, value)` and back to the owner's page; a refusal shows the page again with the
        form (`again_with(form)`: where on the page it goes)."""
        owner, page = await self.owner_of(db_session, request.path_params)
        picture = await pictures.get_picture(db_session, owner, picture_id)
        form = Form(await read_form(request))
        value = read(form)
        if value is not None:
            try:
                await act(owner, picture, value)
            except DomainError as error:
                form.add_errors(error.form_errors())
            else:
                return self._done(page)
        return await self._again(db_session, request.path_params, **again_with(form))

    @post("/pictures/{picture_id:int}/alt", opt={"roles": EDITORS}, status_code=303)
    async def describe_picture(
        self, request: Request, db_session: DbSession, picture_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._change(
            request,
            db_session,
            picture_id,
            read=read_picture_alt,
            act=lambda owner, picture, alt: pictures.describe(
                db_session, owner, picture, alt, current_user(request)
            ),
            again_with=lambda form: {"alt_forms": {picture_id: form}},
        )

    @post("/pictures/{picture_id:int}/move", opt={"roles": EDITORS}, status_code=303)
    async def move_picture(
        self, request: Request, db_session: DbSession, picture_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._change(
            request,
            db_session,
            picture_id,
            read=read_picture_step,
            act=lambda owner, picture, step: pictures.move(
                db_session, owner, picture, step, current_user(request)
            ),
            again_with=lambda form: {"picture_form": form},
        )

    @post("/pictures/{picture_id:int}/remove", opt={"roles": EDITORS}, status_code=303)
    async def remove_picture(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        picture_id: FromPath[int],
    ) -> Redirect:
        """Remove a picture and its files: possible at any time (personal data in a picture)."""
        owner, page = await self.owner_of(db_session, request.path_params)
        picture = await pictures.get_picture(db_session, owner, picture_id)
        await pictures.remove(
            db_session, MediaStore(settings.media_dir), owner, picture, current_user(request)
        )
        return self._done(page)

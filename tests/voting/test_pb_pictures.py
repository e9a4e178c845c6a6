"""Pictures of proposals (voting/pictures.py, app/images.py, app/media.py) on PostgreSQL: staff
add them with a description in the proposal's languages; the file is checked by its content
and stored anew without its metadata, under a random name; the public pages show them as lazy,
responsive images; the files are served as immutable. Every hostile upload is refused with a
message in the reader's language, and nothing is stored."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditRecord
from app.images import MAX_PIXELS, PictureError, prepare_picture
from app.media import MediaStore
from tests.factories import make_area, signed_in_as
from tests.pictures import (
    OWNER,
    SERIAL,
    encoded,
    gif,
    jpeg,
    jpeg_with_personal_metadata,
    photo,
    png_header_only,
    zip_bomb_png,
)
from tests.voting.factories import add_proposal, make_round, move_to
from voting import pictures, rounds
from voting.models import Picture, Resident
from voting.resident_accounts import delete_account

ALT = {"alt_fi": "Leikkipuisto ja keinut", "alt_sv": "Lekpark med gungor"}


def media_files(settings) -> set[str]:
    directory = settings.media_dir
    return {path.name for path in directory.iterdir()} if directory.exists() else set()


async def picture_count(db) -> int:
    return await db.scalar(select(func.count()).select_from(Picture))


async def round_with_idea(db, phase: str = "review", **kwargs):
    area = await make_area(db, "Tapiola")
    round_ = await make_round(db, phase, {area.id: 100_000})
    proposal = await add_proposal(db, round_, area, "Leikkipuisto", 20_000, "submitted", **kwargs)
    return round_, proposal


async def upload(client, round_, proposal, data: bytes, filename="photo.jpg", **fields):
    url = f"/staff/pb/{round_.id}/proposals/{proposal.id}/pictures"
    return await client.post(
        url,
        data={"_csrf_token": client.cookies["tori_csrf"], **fields},
        files={"picture": (filename, data, "image/jpeg")},
    )


# --- the image itself: checked by content, encoded anew ---------------------------------------


def test_a_photo_is_stored_in_a_few_widths_as_webp_and_never_enlarged():
    prepared = prepare_picture(jpeg(1600, 1200))
    assert [width for width, _data in prepared.variants] == [160, 240, 320, 640, 1280]
    assert (prepared.width, prepared.height) == (1280, 960)
    for width, data in prepared.variants:
        stored = Image.open(io.BytesIO(data))
        assert stored.format == "WEBP"
        assert stored.size == (width, width * 3 // 4)
    small = prepare_picture(jpeg(300, 200))
    assert [width for width, _data in small.variants] == [160, 240, 300]


def test_stored_files_carry_no_exif_gps_or_camera_owner():
    original = jpeg_with_personal_metadata()
    # The test's own file does carry them (otherwise the test proves nothing).
    before = Image.open(io.BytesIO(original))
    assert before.getexif().get_ifd(0x8825)[2] == (60.0, 10.0, 30.12)
    assert before.getexif().get_ifd(0x8769)[0xA430] == OWNER
    assert OWNER.encode() in original
    for _width, data in prepare_picture(original).variants:
        stored = Image.open(io.BytesIO(data))
        assert not stored.getexif()
        assert not {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"} & set(stored.info)
        for secret in (OWNER.encode(), SERIAL.encode(), b"ToriPhone", b"Exif", b"xmpmeta"):
            assert secret not in data


def test_a_phone_photo_turned_by_its_exif_is_stored_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to show
    prepared = prepare_picture(encoded(photo(400, 300), "JPEG", exif=exif))
    assert (prepared.width, prepared.height) == (300, 400)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 not a picture at all, only named photo.jpg", "not_a_picture"),
        (b"\xff\xd8\xff\xe0 a JPEG's first bytes and then nothing", "not_a_picture"),
        (jpeg()[:2000], "not_a_picture"),  # cut off in the middle
        (gif(), "not_a_picture"),  # a picture, but not of a format taken
        (encoded(photo(10, 10), "PNG"), "too_small"),
        (png_header_only(8_000, 8_000), "too_many_pixels"),  # over our limit, under Pillow's
        (png_header_only(100_000, 100_000), "too_many_pixels"),  # over Pillow's own
        (png_header_only(1, 40_000), "too_many_pixels"),  # too long a side (and too thin)
    ],
)
def test_a_file_that_is_not_a_usable_picture_is_refused(data, reason):
    with pytest.raises(PictureError) as refused:
        prepare_picture(data)
    assert refused.value.reason == reason


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded():
    bomb = zip_bomb_png()  # a complete, valid PNG: ~140 KB that decodes to 144 megapixels
    assert len(bomb) < 200_000
    assert MAX_PIXELS < 12_000 * 12_000
    with pytest.raises(PictureError) as refused:
        prepare_picture(bomb)
    assert refused.value.reason == "too_many_pixels"


def test_png_and_webp_with_transparency_are_taken():
    clear = Image.new("RGBA", (200, 100), (0, 128, 0, 0))
    for fmt in ("PNG", "WEBP"):
        prepared = prepare_picture(encoded(clear, fmt))
        assert Image.open(io.BytesIO(prepared.variants[-1][1])).mode == "RGBA"


# --- the service: rules, order, audit, files ----------------------------------------------------


async def test_attach_move_describe_and_remove_keep_the_files_and_the_audit_log_in_step(
    db, settings
):
    _round, proposal = await round_with_idea(db)
    store = MediaStore(settings.media_dir)
    owner = pictures.proposal_owner(proposal)
    alt = {"fi": "Puisto", "sv": "Park"}
    first = await pictures.attach(db, store, owner, jpeg(seed=1), alt, None, max_bytes=10**7)
    second = await pictures.attach(db, store, owner, jpeg(seed=2), alt, None, max_bytes=10**7)
    assert [p.position for p in await pictures.pictures_of(db, owner)] == [1, 2]
    assert {f"{first.file_key}-{w}.webp" for w in first.widths} <= media_files(settings)

    await pictures.move(db, owner, second, -1, None)
    assert [p.id for p in await pictures.pictures_of(db, owner)] == [second.id, first.id]

    await pictures.describe(db, owner, first, {"fi": "Uusi", "sv": "Ny", "en": "New"}, None)
    assert first.alt == {"fi": "Uusi", "sv": "Ny", "en": "New"}

    old_key = second.file_key
    await pictures.replace(db, store, owner, second, jpeg(seed=3), None, max_bytes=10**7)
    assert second.file_key != old_key
    assert not any(name.startswith(old_key) for name in media_files(settings))

    await pictures.remove(db, store, owner, first, None)
    assert not any(name.startswith(first.file_key) for name in media_files(settings))
    assert [p.position for p in await pictures.pictures_of(db, owner)] == [1]
    actions = list(
        await db.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.target == f"proposal {proposal.id}")
            .order_by(AuditRecord.seq)
        )
    )
    assert actions == [
        "picture.add",
        "picture.add",
        "picture.move",
        "picture.describe",
        "picture.replace",
        "picture.remove",
    ]


async def test_the_description_is_required_in_finnish_swedish_and_the_idea_s_own_language(db):
    _round, proposal = await round_with_idea(db)
    proposal.language = "en"
    await db.commit()
    owner = pictures.proposal_owner(proposal)
    assert owner.languages == ("fi", "sv", "en")
    with pytest.raises(pictures.PictureRefusedError) as refused:
        pictures.checked_alt(owner, {"fi": "Puisto", "sv": "  ", "en": "x" * 251})
    assert refused.value.field_errors == {
        "alt_sv": pictures.ALT_MISSING,
        "alt_en": pictures.ALT_TOO_LONG,
    }
    assert pictures.checked_alt(owner, {"fi": " Puisto\n", "sv": "Park", "en": "Park"}) == {
        "fi": "Puisto",
        "sv": "Park",
        "en": "Park",
    }


async def test_no_more_than_the_limit_of_pictures_and_none_once_the_ballot_is_fixed(db, settings):
    round_, proposal = await round_with_idea(db)
    store = MediaStore(settings.media_dir)
    owner = pictures.proposal_owner(proposal)
    alt = {"fi": "Puisto", "sv": "Park"}
    small = jpeg(200, 150)
    for _ in range(pictures.MAX_PICTURES):
        await pictures.attach(db, store, owner, small, alt, None, max_bytes=10**7)
    files = media_files(settings)
    with pytest.raises(pictures.PictureRefusedError):
        await pictures.attach(db, store, owner, small, alt, None, max_bytes=10**7)
    assert await picture_count(db) == pictures.MAX_PICTURES
    assert media_files(settings) == files

    await move_to(db, round_, "voting")
    frozen = pictures.proposal_owner(proposal, await rounds.frozen_by(db, round_))
    assert frozen.locked
    first = (await pictures.pictures_of(db, frozen))[0]
    with pytest.raises(pictures.DomainError):
        await pictures.move(db, frozen, first, 1, None)
    # Describing and removing stay open (a face in a picture must come off at once).
    await pictures.describe(db, frozen, first, {"fi": "Korjattu", "sv": "Rättad"}, None)
    await pictures.remove(db, store, frozen, first, None)
    assert await picture_count(db) == pictures.MAX_PICTURES - 1


# --- the staff form, and every hostile upload --------------------------------------------------


async def test_staff_add_a_picture_and_the_public_pages_show_it_lazy_and_responsive(
    client, db, settings
):
    round_, proposal = await round_with_idea(db)
    await signed_in_as(client, db, Role.STAFF)
    response = await upload(client, round_, proposal, jpeg_with_personal_metadata(), **ALT)
    assert response.status_code == 303, response.text
    picture = (await db.scalars(select(Picture))).one()
    assert picture.alt == {"fi": "Leikkipuisto ja keinut", "sv": "Lekpark med gungor"}
    staff_page = await client.get(f"/staff/pb/{round_.id}/proposals/{proposal.id}")
    assert f"/media/{picture.file_key}-160.webp" in staff_page.text

    listing = (await client.get(f"/pb/{round_.slug}/proposals?lang=fi")).text
    image = re.search(r"<img [^>]*>", listing).group(0)
    assert 'loading="lazy"' in image
    assert 'decoding="async"' in image
    assert 'alt="Leikkipuisto ja keinut"' in image
    assert f'width="{picture.width}" height="{picture.height}"' in image
    assert f"/media/{picture.file_key}-160.webp 160w" in image
    assert 'sizes="7rem"' in image
    swedish = (await client.get(f"/pb/{round_.slug}/proposals/{proposal.id}?lang=sv")).text
    assert 'alt="Lekpark med gungor"' in swedish
    assert 'fetchpriority="high"' in swedish  # the top picture of the page is not lazy

    served = await client.get(f"/media/{picture.file_key}-320.webp")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "content-encoding" not in served.headers
    stored = Image.open(io.BytesIO(served.content))
    assert stored.format == "WEBP"
    assert not stored.getexif()
    assert OWNER.encode() not in served.content


async def test_a_missing_description_is_refused_in_the_reader_s_language_and_nothing_stored(
    client, db, settings
):
    round_, proposal = await round_with_idea(db)
    await signed_in_as(client, db, Role.STAFF)
    await client.get("/?lang=fi")
    before = media_files(settings)
    response = await upload(client, round_, proposal, jpeg(), alt_fi="Puisto", alt_sv="")
    assert response.status_code == 400
    assert "Kuvaile kuva tällä kielellä" in response.text
    assert 'id="field-alt_sv"' in response.text
    assert await picture_count(db) == 0
    assert media_files(settings) == before


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "photo.jpg", "Choose a picture file."),
        (b"<?php system($_GET['c']); ?>", "photo.jpg", "not a picture in JPEG, PNG or WebP"),
        (gif(), "photo.jpg", "not a picture in JPEG, PNG or WebP"),
        (png_header_only(100_000, 100_000), "bomb.png", "too many pixels"),
        (zip_bomb_png(), "bomb.png", "too many pixels"),
    ],
)
async def test_a_hostile_upload_is_refused_with_a_message_and_nothing_stored(
    client, db, settings, data, filename, message
):
    round_, proposal = await round_with_idea(db)
    await signed_in_as(client, db, Role.STAFF)
    before = media_files(settings)
    response = await upload(client, round_, proposal, data, filename, **ALT)
    assert response.status_code == 400
    assert message in response.text
    assert await picture_count(db) == 0
    assert media_files(settings) == before


@pytest.mark.parametrize(("padding", "status"), [(20_000, 400), (3 * 2**20, 413)])
async def test_a_file_larger_than_the_setting_is_refused(
    client, db, settings, monkeypatch, padding, status
):
    """A limit of 1 MB: a file a little over it is read and refused with the limit named; one
    far over the body's limit (the file and room for the form) is cut off as it arrives."""
    round_, proposal = await round_with_idea(db)
    await signed_in_as(client, db, Role.STAFF)
    monkeypatch.setattr(type(settings), "max_picture_bytes", property(lambda _self: 2**20))
    # A real photo with bytes after its end, which a JPEG decoder ignores.
    data = jpeg(400, 300) + b"\0" * (2**20 - len(jpeg(400, 300)) + padding)
    assert len(data) > 2**20
    before = media_files(settings)
    response = await upload(client, round_, proposal, data, "big.jpg", **ALT)
    assert response.status_code == status
    if status == 400:
        assert "The file is too large: at most 1 MB." in response.text
    assert await picture_count(db) == 0
    assert media_files(settings) == before


async def test_a_path_in_the_file_name_is_ignored(client, db, settings):
    round_, proposal = await round_with_idea(db)
    await signed_in_as(client, db, Role.STAFF)
    response = await upload(client, round_, proposal, jpeg(), "../../etc/passwd", **ALT)
    assert response.status_code == 303
    picture = (await db.scalars(select(Picture))).one()
    assert media_files(settings) >= {f"{picture.file_key}-{w}.webp" for w in picture.widths}
    assert all(re.fullmatch(r"[0-9a-f]{32}-\d+\.webp", name) for name in media_files(settings))
    assert not (settings.media_dir.parent.parent / "etc" / "passwd").exists()
    assert "passwd" not in str(await db.scalar(select(AuditRecord.after).limit(1)))


@pytest.mark.parametrize(
    "path",
    [
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/" + "0" * 32 + "-320.webp",  # the right shape, but no such file
        "/media/" + "0" * 32 + "-320.webp.tmp",
        "/media/.hidden",
    ],
)
async def test_the_media_route_serves_nothing_but_stored_pictures(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert "root:" not in response.text


async def test_the_order_and_removal_forms_work_and_a_hidden_idea_shows_no_picture(
    client, db, settings
):
    round_, proposal = await round_with_idea(db)
    await signed_in_as(client, db, Role.STAFF)
    for seed in (1, 2):
        assert (
            await upload(client, round_, proposal, jpeg(400, 300, seed), **ALT)
        ).status_code == 303
    first, second = await pictures.pictures_of(db, pictures.proposal_owner(proposal))
    first_id, first_key, second_id = first.id, first.file_key, second.id
    base = f"/staff/pb/{round_.id}/proposals/{proposal.id}/pictures"
    token = client.cookies["tori_csrf"]
    moved = await client.post(
        f"{base}/{second_id}/move", data={"_csrf_token": token, "direction": "earlier"}
    )
    assert moved.status_code == 303
    bad = await client.post(
        f"{base}/{second_id}/move", data={"_csrf_token": token, "direction": "sideways"}
    )
    assert bad.status_code == 400
    described = await client.post(
        f"{base}/{first_id}/alt", data={"_csrf_token": token, "alt_fi": "Uusi", "alt_sv": ""}
    )
    assert described.status_code == 400
    assert [p.id for p in await pictures.pictures_of(db, pictures.proposal_owner(proposal))] == [
        second_id,
        first_id,
    ]
    await db.refresh(proposal)
    proposal.moderation = "hidden"
    await db.commit()
    listing = (await client.get(f"/pb/{round_.slug}/proposals")).text
    assert "/media/" not in listing
    removed = await client.post(f"{base}/{first_id}/remove", data={"_csrf_token": token})
    assert removed.status_code == 303
    assert not any(name.startswith(first_key) for name in media_files(settings))
    # A picture of another proposal cannot be reached through this one.
    other = await add_proposal(db, round_, None, "Toinen", 1000, "submitted")
    elsewhere = f"/staff/pb/{round_.id}/proposals/{other.id}/pictures/{second_id}/remove"
    assert (await client.post(elsewhere, data={"_csrf_token": token})).status_code == 404


async def test_a_resident_or_an_auditor_cannot_add_pictures(client, db):
    round_, proposal = await round_with_idea(db)
    await signed_in_as(client, db, Role.AUDITOR)
    response = await upload(client, round_, proposal, jpeg(), **ALT)
    assert response.status_code == 403
    assert await picture_count(db) == 0


async def test_an_idea_deleted_with_its_author_s_account_takes_its_pictures_along(db, settings):
    _round, proposal = await round_with_idea(db)
    resident = Resident(email="a@example.fi", display_name="A", password_hash="x")
    db.add(resident)
    await db.commit()
    proposal.author_id = resident.id
    await db.commit()
    store = MediaStore(settings.media_dir)
    alt = {"fi": "Puisto", "sv": "Park"}
    picture = await pictures.attach(
        db, store, pictures.proposal_owner(proposal), jpeg(300, 200), alt, None, max_bytes=10**7
    )
    key = picture.file_key
    await delete_account(db, resident, store)
    assert await picture_count(db) == 0
    assert not any(name.startswith(key) for name in media_files(settings))

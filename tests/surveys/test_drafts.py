"""Staff write the next version of the standard questionnaire: keys kept through rewording, new
keys never reused, conditions, publishing as a new version; stored versions never change, answers
to version N and N+1 pool by key, and every change leaves one audit record (a refused one none)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.areas.services import list_areas
from app.audit import AuditRecord, check_audit_chain
from surveys import drafts, services
from surveys.comparison import ComparisonFilter, compare
from surveys.definitions import Condition, read_answers
from surveys.drafts import DraftError, Wording
from surveys.models import TemplateDraft, TemplateVersion
from tests.factories import make_event
from tests.surveys.factories import answer, open_questionnaire


def wording_of(question, **changes) -> Wording:
    values = {
        "text": dict(question.text),
        "required": question.required,
        "help": dict(question.help),
        "low": dict(question.low),
        "high": dict(question.high),
        "options": {o.key: dict(o.label) for o in question.options},
        "show_if": question.show_if,
    }
    return Wording(**{**values, **changes})


async def audit_actions(db) -> list[str]:
    return list(await db.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


async def audit_count(db) -> int:
    return await db.scalar(select(func.count()).select_from(AuditRecord))


async def reword_satisfaction_in_swedish(db, text: str = "Hur nöjd var du med evenemanget?"):
    draft = await drafts.start_draft(db)
    question = drafts.question_of(draft, "satisfaction")
    await drafts.reword_question(
        db, "satisfaction", wording_of(question, text={**question.text, "sv": text})
    )
    return await drafts.publish_draft(db)


async def test_a_draft_starts_as_a_copy_of_the_newest_version(db):
    latest = await services.standard_version(db)
    draft = await drafts.start_draft(db)
    assert draft.based_on_id == latest.id
    assert draft.questions == latest.questions
    assert (await drafts.start_draft(db)).id == draft.id  # one draft at a time


async def test_rewording_keeps_the_key_and_publishing_makes_a_new_version(db):
    v2 = await services.standard_version(db)
    stored_before = [dict(q) for q in v2.questions]
    hash_before = v2.content_hash
    v3 = await reword_satisfaction_in_swedish(db)
    assert v3.version == v2.version + 1
    assert [q["key"] for q in v3.questions] == [q["key"] for q in stored_before]
    [new] = [q for q in v3.questions if q["key"] == "satisfaction"]
    assert new["text"]["sv"] == "Hur nöjd var du med evenemanget?"
    await db.refresh(v2)
    assert v2.questions == stored_before
    assert v2.content_hash == hash_before
    assert await db.scalar(select(func.count()).select_from(TemplateDraft)) == 0
    assert (await services.standard_version(db)).id == v3.id
    changes = drafts.version_changes(v2, v3)
    assert changes.reworded == ("satisfaction",)
    assert changes.added == changes.retired == ()


async def test_answers_to_two_versions_pool_by_key_and_the_comparison_tells_them_apart(db):
    await services.standard_version(db)
    old = await open_questionnaire(db, await make_event(db))
    await answer(db, old, {"satisfaction": 2})
    await reword_satisfaction_in_swedish(db)
    new = await open_questionnaire(db, await make_event(db))
    assert new.version.version == old.version.version + 1
    await answer(db, new, {"satisfaction": 4}, language="sv")
    await services.fold_pending_counts(db)
    areas = await list_areas(db)
    ids = (old.event_id, new.event_id)
    pooled = await compare(db, ComparisonFilter(event_ids=ids), "none", zone="UTC", areas=areas)
    assert pooled.groups[0].counts["satisfaction"] == {"2": 1, "4": 1}
    by_version = await compare(
        db, ComparisonFilter(event_ids=ids), "version", zone="UTC", areas=areas
    )
    assert {g.key: g.counts["satisfaction"] for g in by_version.groups} == {
        str(old.version.version): {"2": 1},
        str(new.version.version): {"4": 1},
    }


async def test_a_questionnaire_stays_on_its_version_after_a_new_one_is_published(db):
    await services.standard_version(db)
    questionnaire = await open_questionnaire(db, await make_event(db))
    version_id = questionnaire.version_id
    await reword_satisfaction_in_swedish(db)
    questionnaire = await services.get_questionnaire(db, questionnaire.id)
    assert questionnaire.version_id == version_id


@pytest.mark.parametrize(
    ("language", "text", "field"),
    [
        ("sv", "", "text_sv"),
        ("fi", "   ", "text_fi"),
        ("sv", "x" * 301, "text_sv"),
        ("sv", "<script>alert(1)</script>", "text_sv"),
        ("en", '<img src=x onerror="alert(1)">', "text_en"),
        ("sv", "Hur &lt;b&gt;nöjd", "text_sv"),
    ],
)
async def test_bad_wording_is_refused_and_changes_nothing(db, language, text, field):
    draft = await drafts.start_draft(db)
    stored = [dict(q) for q in draft.questions]
    records = await audit_count(db)
    question = drafts.question_of(draft, "satisfaction")
    with pytest.raises(DraftError) as refused:
        await drafts.reword_question(
            db, "satisfaction", wording_of(question, text={**question.text, language: text})
        )
    assert refused.value.field == field
    await db.rollback()
    draft = await drafts.require_draft(db)
    assert draft.questions == stored
    assert await audit_count(db) == records


async def test_option_labels_are_reworded_under_their_keys(db):
    draft = await drafts.start_draft(db)
    question = drafts.question_of(draft, "age_group")
    options = {o.key: dict(o.label) for o in question.options}
    options["age_75_plus"]["sv"] = "75 år eller äldre"
    await drafts.reword_question(db, "age_group", wording_of(question, options=options))
    reworded = drafts.question_of(await drafts.require_draft(db), "age_group")
    assert reworded.option_keys == question.option_keys
    assert dict(reworded.options[-2].label)["sv"] == "75 år eller äldre"
    with pytest.raises(DraftError):
        await drafts.reword_question(
            db, "age_group", wording_of(question, options={**options, "age_100": {"fi": "100"}})
        )


async def test_a_new_question_needs_a_new_well_formed_key(db):
    await drafts.start_draft(db)
    text = {"fi": "Oliko tila esteetön?", "sv": "Var lokalen tillgänglig?"}
    for key in ("Bad Key", "1st", "x12_3", "a.b", "satisfaction"):
        with pytest.raises(DraftError) as refused:
            await drafts.add_question(db, key, "yes_no", Wording(text=text))
        assert refused.value.field == "key"
    await drafts.add_question(db, "accessible", "yes_no", Wording(text=text))
    await drafts.retire_question(db, "accessible")
    # A key once published stays retired; one only in a discarded draft was never asked.
    await drafts.retire_question(db, "comment")
    await drafts.publish_draft(db)
    await drafts.start_draft(db)
    with pytest.raises(DraftError, match="earlier version"):
        await drafts.add_question(db, "comment", "long_text", Wording(text=text))
    await drafts.add_question(db, "accessible", "yes_no", Wording(text=text))
    assert drafts.question_of(await drafts.require_draft(db), "accessible").type == "yes_no"


async def test_a_condition_shows_a_question_only_after_chosen_answers(db):
    await drafts.start_draft(db)
    text = {"fi": "Mikä oli vaikeaa?", "sv": "Vad var svårt?"}
    await drafts.add_question(
        db,
        "difficult",
        "short_text",
        Wording(text=text, required=True, show_if=Condition("satisfaction", ("1", "2"))),
    )
    draft = await drafts.require_draft(db)
    questions = drafts.draft_questions(draft)
    # Without JavaScript the condition is evaluated on submit: not required when hidden, and
    # an answer given to the hidden question is dropped.
    answers, errors = read_answers(
        questions, {"q_satisfaction": ["5"], "q_difficult": ["Parkkipaikka"]}
    )
    assert errors == {}
    assert "difficult" not in answers
    answers, errors = read_answers(questions, {"q_satisfaction": ["2"]})
    assert list(errors) == ["difficult"]
    answers, errors = read_answers(questions, {"q_satisfaction": ["1"], "q_difficult": ["Meteli"]})
    assert answers["difficult"] == "Meteli"
    with pytest.raises(DraftError) as refused:
        await drafts.add_question(
            db, "later", "short_text", Wording(text=text, show_if=Condition("satisfaction", ("9",)))
        )
    assert refused.value.field == "show_if_values"
    with pytest.raises(DraftError):  # a text answer cannot be a condition
        await drafts.add_question(
            db, "later", "short_text", Wording(text=text, show_if=Condition("comment", ("x",)))
        )
    with pytest.raises(DraftError, match="depending"):
        await drafts.retire_question(db, "satisfaction")
    for _ in range(len(questions) - 2):  # up to just after the question it depends on
        await drafts.move_question(db, "difficult", "up")
    assert [q.key for q in drafts.draft_questions(await drafts.require_draft(db))][:2] == [
        "satisfaction",
        "difficult",
    ]
    with pytest.raises(DraftError, match="after the question"):
        await drafts.move_question(db, "difficult", "up")


async def test_publishing_refuses_an_unchanged_or_outdated_draft(db):
    await drafts.start_draft(db)
    with pytest.raises(DraftError, match="same as the current"):
        await drafts.publish_draft(db)
    await db.rollback()
    # A version imported meanwhile (a shipped file) makes the draft outdated.
    latest = await services.standard_version(db)
    data = {**services.standard_definition(), "version": latest.version + 1}
    data["questions"] = [q for q in latest.questions if q["key"] != "comment"]
    await services.import_template(db, data)
    with pytest.raises(DraftError, match="newer version"):
        await drafts.publish_draft(db)


async def test_every_change_leaves_one_audit_record_in_its_transaction(db):
    await services.standard_version(db)
    before = await audit_count(db)
    draft = await drafts.start_draft(db)
    question = drafts.question_of(draft, "satisfaction")
    await drafts.reword_question(
        db, "satisfaction", wording_of(question, text={**question.text, "sv": "Nöjd?"})
    )
    await drafts.move_question(db, "heard", "up")
    await drafts.add_question(db, "accessible", "yes_no", Wording(text={"fi": "E?", "sv": "T?"}))
    await drafts.retire_question(db, "comment")
    version = await drafts.publish_draft(db)
    await drafts.start_draft(db)
    await drafts.discard_draft(db)
    assert (await audit_actions(db))[before:] == [
        "template.draft.start",
        "template.draft.reword",
        "template.draft.move",
        "template.draft.add",
        "template.draft.retire",
        "template.publish",
        "template.draft.start",
        "template.draft.discard",
    ]
    published = await db.scalar(select(AuditRecord).where(AuditRecord.action == "template.publish"))
    assert published.after["version"] == version.version
    assert published.after["reworded"] == ["satisfaction"]
    assert published.after["added"] == ["accessible"]
    assert published.after["retired"] == ["comment"]
    reword = await db.scalar(
        select(AuditRecord).where(AuditRecord.action == "template.draft.reword")
    )
    assert reword.before["text"]["sv"] != reword.after["text"]["sv"] == "Nöjd?"
    assert await check_audit_chain(db) == (before + 8, None)
    assert await db.scalar(select(func.count()).select_from(TemplateVersion)) >= 2


async def test_a_newer_shipped_file_does_not_replace_what_staff_published(db, monkeypatch):
    v3 = await reword_satisfaction_in_swedish(db)
    assert v3.source == "editor"
    original = services.standard_definition()
    shipped = {
        **original,
        "version": v3.version + 1,
        "intro": {**original["intro"], "en": "A newer shipped introduction."},
    }
    monkeypatch.setattr(services, "standard_definition", lambda: shipped)
    assert (await services.standard_version(db)).id == v3.id
    # Imported on purpose, it is the next version all the same (`tori questionnaire-import`).
    imported, created = await services.import_template(db, shipped)
    assert created
    assert imported.source == "file"
    db.expire_all()
    assert (await services.standard_version(db)).id == imported.id

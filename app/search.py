"""Full-text search over staff-entered text stored per language (ideas, events): the one place
where PostgreSQL and the embedded SQLite default differ.

PostgreSQL: an expression index per language, each text read with its own language's
configuration (`finnish` stems "puistoon" to "puisto", `swedish` "parkerna" to "park"), and one
`simple` index over every language for words no stemmer knows (names, other languages). SQLite:
an FTS5 table per searched table, kept up to date by triggers. Both match every word of the
query as a prefix, so a partial word finds the idea as it is being typed.

The search words are cut from what the staff member typed as runs of letters and digits only:
no character of the query languages (`&|!:*()'"`, FTS5's `NEAR`, `-`, `^`) reaches either
engine, and the words go in as bound parameters. The SQL text built here holds only this
module's own names (tables, columns, configurations), never input: hence the `noqa: S608`s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, text
from sqlalchemy.sql import column

# Language code of the stored text -> PostgreSQL's text search configuration for it.
CONFIGURATIONS = {"fi": "finnish", "sv": "swedish", "en": "english"}
LANGUAGE_CODES = tuple(CONFIGURATIONS)
# What a search may hold: longer queries are refused by the form, more words are ignored.
MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
MAX_WORD_LENGTH = 40
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Searched:
    """A table whose per-language JSON columns are searched."""

    table: str
    columns: tuple[str, ...]

    @property
    def fts_table(self) -> str:
        return f"{self.table}_search"

    def index_name(self, config: str) -> str:
        return f"ix_{self.table}_search_{config}"


IDEAS = Searched("pb_proposal", ("title", "description"))
EVENTS = Searched("event", ("title", "description"))
SEARCHED = (IDEAS, EVENTS)


def search_words(query: str) -> list[str]:
    """The words of a query, lower-cased: letters and digits only, at most MAX_WORDS of them."""
    words = [word[:MAX_WORD_LENGTH] for word in _WORD.findall(query.casefold())]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def _text_of(searched: Searched, codes: tuple[str, ...], qualifier: str = "") -> str:
    """SQL for the JSON columns' text in the given languages, joined by spaces (PostgreSQL)."""
    parts = [
        f"coalesce({qualifier}{name} ->> '{code}', '')"
        for code in codes
        for name in searched.columns
    ]
    return " || ' ' || ".join(parts)


def _document(searched: Searched, config: str, qualifier: str = "") -> str:
    """The indexed expression: the text in the configuration's language, or in every language
    for `simple`. The query repeats it exactly, as PostgreSQL uses an expression index only for
    the same expression."""
    codes = LANGUAGE_CODES if config == "simple" else (_code_of(config),)
    return f"to_tsvector('{config}'::regconfig, {_text_of(searched, codes, qualifier)})"


def _code_of(config: str) -> str:
    return next(code for code, name in CONFIGURATIONS.items() if name == config)


def _configs() -> tuple[str, ...]:
    return (*CONFIGURATIONS.values(), "simple")


def matches(dialect: str, searched: Searched, id_column: ColumnElement, query: str):
    """A condition true for the rows whose text holds every word of `query` (as a prefix);
    a query without words matches nothing."""
    words = search_words(query)
    if not words:
        return false()
    if dialect == "postgresql":
        tsquery = " & ".join(f"{word}:*" for word in words)
        condition = " OR ".join(
            f"{_document(searched, config, f'{searched.table}.')} "
            f"@@ to_tsquery('{config}'::regconfig, :search_query)"
            for config in _configs()
        )
        return text(f"({condition})").bindparams(search_query=tsquery)
    fts = " ".join(f'"{word}"*' for word in words)
    rowids = (
        text(f"SELECT rowid FROM {searched.fts_table} WHERE {searched.fts_table} MATCH :fts")  # noqa: S608
        .bindparams(fts=fts)
        .columns(column("rowid"))
    )
    return id_column.in_(rowids)


# --- schema, for the migration and the drift check ---------------------------------------------


def _sqlite_text(searched: Searched, row: str) -> str:
    parts = [
        f"coalesce(json_extract({row}.{name}, '$.{code}'), '')"
        for code in LANGUAGE_CODES
        for name in searched.columns
    ]
    return " || ' ' || ".join(parts)


def create_statements(dialect: str, searched: Searched) -> list[str]:
    """DDL that creates the search structures of one table (and fills them from its rows)."""
    if dialect == "postgresql":
        return [
            f"CREATE INDEX {searched.index_name(config)} ON {searched.table} "
            f"USING gin (({_document(searched, config)}))"
            for config in _configs()
        ]
    fts, table = searched.fts_table, searched.table
    new_text = _sqlite_text(searched, "new")
    insert = f"INSERT INTO {fts} (rowid, document)"
    triggers = {
        "insert": f"{insert} VALUES (new.id, {new_text});",
        "update": f"DELETE FROM {fts} WHERE rowid = old.id; {insert} VALUES (new.id, {new_text});",  # noqa: S608
        "delete": f"DELETE FROM {fts} WHERE rowid = old.id;",  # noqa: S608
    }
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(document, tokenize = 'unicode61')",
        f"{insert} SELECT id, {_sqlite_text(searched, table)} FROM {table}",  # noqa: S608
        *(
            f"CREATE TRIGGER {fts}_{when} AFTER {when.upper()} ON {table} BEGIN {body} END"
            for when, body in triggers.items()
        ),
    ]


def drop_statements(dialect: str, searched: Searched) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS {searched.index_name(config)}" for config in _configs()]
    fts = searched.fts_table
    return [
        f"DROP TRIGGER IF EXISTS {fts}_insert",
        f"DROP TRIGGER IF EXISTS {fts}_update",
        f"DROP TRIGGER IF EXISTS {fts}_delete",
        f"DROP TABLE IF EXISTS {fts}",
    ]


def is_search_structure(name: str | None, type_: str) -> bool:
    """True for the search indexes and FTS5 tables, which the models do not describe (Alembic's
    comparison of the models with the database leaves them out)."""
    if not name:
        return False
    for searched in SEARCHED:
        if type_ == "table" and name.startswith(searched.fts_table):
            return True
        if type_ == "index" and name.startswith(f"ix_{searched.table}_search_"):
            return True
    return False


def include_in_comparison(name: str | None, type_: str, _parents: dict) -> bool:
    return not is_search_structure(name, type_)

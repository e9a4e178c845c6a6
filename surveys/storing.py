"""The busy writes of surveys (a poll vote, a questionnaire answer) on both databases.

Each busy write is one row with rows of its own: a vote and its choices, an answer sheet and its
counts. The row is stored by a SQLAlchemy Core `INSERT … SELECT … ON CONFLICT DO NOTHING
RETURNING`, which both PostgreSQL and SQLite run as it is: the SELECT checks the rules (the poll is
open, unchanged, …), the conflict on the form's token makes a double tap count once. Its own
rows - (question_key, value) pairs - follow; this is where the two databases differ, and the only
place:

- PostgreSQL: in the same statement, as a data-modifying CTE. One round trip, atomic by itself,
  so it runs without BEGIN and COMMIT on the plain asyncpg connection `Database.write_connection`
  gives (app/database.py `RawConnection`: the same Core statement, compiled once).
- SQLite (the zero-setup default of `make run`) has no data-modifying CTEs: a second statement
  in the same transaction, which the caller's connection holds (SQLite has one writer).

Both spell ON CONFLICT alike, but SQLAlchemy has a construct per dialect. The statements are
built once, at import (`RowWithPairs`), and run with parameters: building a statement costs more
than running it on this path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, Text, bindparam, func, insert, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.database import RawConnection

Executor = AsyncConnection | AsyncSession | RawConnection


def dialect_name(executor: Executor) -> str:
    bind = executor.bind if isinstance(executor, AsyncSession) else executor
    return bind.dialect.name


def is_postgresql(executor: Executor) -> bool:
    return dialect_name(executor) == "postgresql"


def insert_for(executor: Executor, table: Any) -> Any:
    """The dialect's INSERT of `table`, which has `on_conflict_do_nothing` and `_do_update`."""
    return (postgresql.insert if is_postgresql(executor) else sqlite.insert)(table)


@dataclass(frozen=True)
class RowWithPairs:
    """The statements that store a row and its (question_key, value) pairs, for each dialect."""

    postgresql: Select  # the row and its pairs in one statement; the number of rows stored
    sqlite_row: Any  # the row alone, returning the columns its pairs copy
    pairs: Any  # INSERT of one pair, run for each
    copied: dict[str, str]
    fixed: tuple[str, ...]

    @classmethod
    def build(
        cls,
        head: Table,
        columns: list[str],
        values: Select,
        token_column: str,
        table: Table,
        *,
        copied: dict[str, str],
        fixed: dict[str, ColumnElement],
    ) -> RowWithPairs:
        """`values` (a SELECT with bound parameters) gives the row of `head`'s `columns`, or no
        row when a rule forbids it. Each pair row of `table` takes the `copied` columns from
        the stored row (`{column: returned column}`) and the `fixed` ones from parameters."""
        returning = [head.c[name] for name in dict.fromkeys(["id", *copied.values()])]

        def row(dialect_insert: Any) -> Any:
            return (
                dialect_insert(head)
                .from_select(columns, values)
                .on_conflict_do_nothing(index_elements=[token_column])
                .returning(*returning)
            )

        stored = row(postgresql.insert).cte("stored")
        each = (
            func.unnest(
                bindparam("pair_keys", type_=postgresql.ARRAY(Text)),
                bindparam("pair_values", type_=postgresql.ARRAY(Text)),
            )
            .table_valued("key", "value")
            .render_derived()
        )
        pairs = insert(table).from_select(
            [*copied, *fixed, "question_key", "value"],
            select(
                *(stored.c[name] for name in copied.values()),
                *fixed.values(),
                each.c.key,
                each.c.value,
            ).select_from(stored.join(each, true())),
        )
        return cls(
            postgresql=select(func.count()).select_from(stored).add_cte(pairs.cte("pairs")),
            sqlite_row=row(sqlite.insert),
            pairs=insert(table),
            copied=copied,
            fixed=tuple(fixed),
        )

    async def store(
        self, executor: Executor, parameters: dict[str, Any], pairs: list[tuple[str, str]]
    ) -> bool:
        """Store the row and, when it was stored, its pairs; commit. False when the row was not
        stored (a rule forbade it, or its token was used): nothing was."""
        if is_postgresql(executor):
            keys, values = [key for key, _ in pairs], [value for _, value in pairs]
            arguments = {**parameters, "pair_keys": keys, "pair_values": values}
            done = bool(await executor.scalar(self.postgresql, arguments))
        else:
            returned = (await executor.execute(self.sqlite_row, parameters)).mappings().first()
            done = returned is not None
            if done:
                common = {name: returned[source] for name, source in self.copied.items()}
                common |= {name: parameters[name] for name in self.fixed}
                rows = [{**common, "question_key": k, "value": v} for k, v in pairs]
                await executor.execute(self.pairs, rows)
        await executor.commit()
        return done

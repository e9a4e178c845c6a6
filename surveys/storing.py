"""The busy writes of surveys (a poll vote, a questionnaire answer) on both databases.

Each busy write is one row with rows of its own: a vote and its choices, an answer sheet and its
counts. The row is stored by a SQLAlchemy Core `INSERT … SELECT … ON CONFLICT DO NOTHING
RETURNING`, which both PostgreSQL and SQLite run as it is: the SELECT checks the rules (the poll is
open, unchanged, …), the conflict on the form's token makes a double tap count once. Its own
rows follow; this is where the two databases differ, and the only place:

- PostgreSQL: in the same statement, as a data-modifying CTE. One round trip, atomic by itself,
  so it runs on an autocommit connection (`Database.write_connection`) without BEGIN and COMMIT.
- SQLite (the zero-setup default of `make run`) has no data-modifying CTEs: a second statement
  in the same transaction, which the caller's connection holds (SQLite has one writer).

Both spell ON CONFLICT alike, but SQLAlchemy has a construct per dialect: `insert_for` picks it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, Text, bindparam, func, insert, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import Insert

Executor = AsyncConnection | AsyncSession


def dialect_name(executor: Executor) -> str:
    bind = executor.bind if isinstance(executor, AsyncSession) else executor
    return bind.dialect.name


def is_postgresql(executor: Executor) -> bool:
    return dialect_name(executor) == "postgresql"


def insert_for(executor: Executor) -> Callable[[Any], Any]:
    """The dialect's INSERT, which has `on_conflict_do_nothing` and `on_conflict_do_update`."""
    return postgresql.insert if is_postgresql(executor) else sqlite.insert


async def insert_with_rows(
    executor: Executor,
    head: Insert,
    table: Table,
    *,
    pairs: list[tuple[str, str]],
    copied: dict[str, str],
    fixed: dict[str, Any],
) -> bool:
    """Store `head` (an INSERT … RETURNING of at most one row) and, when it stored its row, one
    row into `table` per (question_key, value) of `pairs`, with the columns in `copied` taken
    from the head's returned row (`{column: returned column}`) and those in `fixed` as given.
    Commits; True when the head stored its row, False when it stored nothing (and nor did we)."""
    if is_postgresql(executor):
        stored_row = head.cte("head")
        keys, values = [k for k, _ in pairs], [v for _, v in pairs]
        each = (
            func.unnest(
                bindparam("pair_keys", keys, postgresql.ARRAY(Text)),
                bindparam("pair_values", values, postgresql.ARRAY(Text)),
            )
            .table_valued("key", "value")
            .render_derived()
        )
        columns = [*copied, *fixed, "question_key", "value"]
        rows = insert(table).from_select(
            columns,
            select(
                *(stored_row.c[name] for name in copied.values()),
                *(literal(value, table.c[name].type) for name, value in fixed.items()),
                each.c.key,
                each.c.value,
            ).select_from(stored_row.join(each, true())),
        )
        statement = select(func.count()).select_from(stored_row).add_cte(rows.cte("rows"))
        done = bool(await executor.scalar(statement))
    else:
        returned = (await executor.execute(head)).mappings().first()
        done = returned is not None
        if done:
            await executor.execute(
                insert(table),
                [
                    {
                        **{name: returned[source] for name, source in copied.items()},
                        **fixed,
                        "question_key": key,
                        "value": value,
                    }
                    for key, value in pairs
                ],
            )
    await executor.commit()
    return done

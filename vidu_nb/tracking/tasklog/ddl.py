"""Rendering the schema's neutral steps (``schema.Table``, ``AddColumns``, ``Index``) as one
database's DDL, by SQLAlchemy's DDL compiler: its type names, identity columns and quoting.

Loaded only when a log is created or upgraded (SQLAlchemy takes a while to import, and a log
that is up to date needs none of it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as _pg
from sqlalchemy.dialects import sqlite as _sqlite
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

#: Whole numbers: ``INTEGER`` in SQLite (any size), ``BIGINT`` in PostgreSQL.
INTEGER: sa.types.TypeEngine[Any] = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
#: Float Unix seconds and measures: ``REAL`` in SQLite, ``DOUBLE PRECISION`` in PostgreSQL
#: (PostgreSQL's ``REAL`` has 24 bits: seconds since 1970 would lose their fraction).
REAL: sa.types.TypeEngine[Any] = sa.REAL().with_variant(_pg.DOUBLE_PRECISION(), "postgresql")
TEXT: sa.types.TypeEngine[Any] = sa.Text()
KINDS = {"INTEGER": INTEGER, "REAL": REAL, "TEXT": TEXT}
DIALECTS: dict[str, Dialect] = {"sqlite": _sqlite.dialect(), "postgresql": _pg.dialect()}


#: ``name KIND [NOT NULL] [DEFAULT '' | DEFAULT <number>] [REFERENCES tasks]``
_SPEC = re.compile(
    r"(?P<name>[a-z_][a-z0-9_]*) (?P<kind>INTEGER|REAL|TEXT)(?P<not_null> NOT NULL)?"
    r"(?: DEFAULT (?P<default>''|-?\d+(?:\.\d+)?))?(?P<ref> REFERENCES tasks)?"
)


def column(spec: str) -> sa.Column[Any]:
    """A column from a short spec: ``"name KIND [NOT NULL] [DEFAULT ''|n]"`` or ``"name
    INTEGER REFERENCES tasks"`` (to a task's ``row_id``); KIND is one of ``KINDS``. Anything
    else is refused, so a typo in a new version fails its tests instead of a user's log."""
    found = _SPEC.fullmatch(" ".join(spec.split()))
    if found is None:
        raise ValueError(f"column spec {spec!r} is not 'name KIND [NOT NULL] [DEFAULT ...]'")
    args: list[Any] = [sa.ForeignKey("tasks.row_id")] if found["ref"] else []
    default = sa.text(found["default"]) if found["default"] is not None else None
    return sa.Column(found["name"], KINDS[found["kind"]], *args,
                     nullable=not found["not_null"], server_default=default)  # fmt: skip


def _catalogue(table: str) -> sa.MetaData:
    """A fresh catalogue for one step; beside another table it knows ``tasks.row_id``, what
    references point to."""
    meta = sa.MetaData()
    if table != "tasks":
        sa.Table("tasks", meta, sa.Column("row_id", INTEGER, primary_key=True))
    return meta


def create_table(
    dialect: str, name: str, key: str, specs: Sequence[str], checks: Sequence[str],
    unique: Sequence[str],
) -> str:  # fmt: skip
    columns = [column(spec) for spec in specs]
    for c in columns:
        c.unique = True if c.name in unique else None
    table = sa.Table(
        name, _catalogue(name), sa.Column(key, INTEGER, sa.Identity(), primary_key=True),
        *columns, *(sa.CheckConstraint(text) for text in checks), sqlite_autoincrement=True,
    )  # fmt: skip
    sql = str(CreateTable(table).compile(dialect=DIALECTS[dialect])).strip()
    # SQLite numbers an INTEGER PRIMARY KEY itself; without the NOT NULL SQLAlchemy adds, a
    # new log's columns are exactly those earlier releases made.
    return sql.replace(" NOT NULL PRIMARY KEY AUTOINCREMENT", " PRIMARY KEY AUTOINCREMENT")


def add_column(dialect: str, table: str, spec: str) -> str:
    engine = DIALECTS[dialect]
    compiler = engine.ddl_compiler(engine, None)  # type: ignore[arg-type]
    new = column(spec)
    sa.Table(table, _catalogue(table), new)
    text = compiler.get_column_specification(new)
    if new.foreign_keys:
        text += " REFERENCES tasks (row_id)"
    return f"ALTER TABLE {table} ADD COLUMN {text}"


def create_index(dialect: str, name: str, table: str, columns: Sequence[str]) -> str:
    owner = sa.Table(table, sa.MetaData(), *(sa.Column(c, TEXT) for c in columns))
    index = sa.Index(name, *(owner.c[c] for c in columns))
    return str(CreateIndex(index).compile(dialect=DIALECTS[dialect])).strip()

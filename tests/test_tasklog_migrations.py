"""A task log written by an older release opens in this one: its rows intact, the new columns
(watermark fields, ``source``) added empty and typed in the DataFrame and in exports."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from vidu_nb.client.task import Task
from vidu_nb.tracking.tasklog import SCHEMA_VERSION, TaskLog, read_export
from vidu_nb.tracking.tasklog import schema as tasklog_schema

NEW_COLUMNS = ("watermark", "wm_position", "wm_url", "meta_data", "source")


def old_log(path, version: int = 2) -> None:
    """A log file exactly as release ``version`` left it (its migrations are never edited),
    with one finished and one queued task."""
    conn = sqlite3.connect(path)
    for step in tasklog_schema.MIGRATIONS[:version]:
        step(conn)
    now = time.time()
    conn.execute(
        "INSERT INTO tasks (task_id, client_ref, state, model, duration, credits, tags,"
        " submitted_at, finished_at, options) VALUES ('old-1', 'vidu-nb:a', 'success',"
        " 'viduq2-pro', 4, 80, 'x', ?, ?, '{}')",
        (now - 60, now),
    )
    conn.execute(
        "INSERT INTO tasks (client_ref, state, owner, options) VALUES ('vidu-nb:b', 'queued',"
        " 'gone', '{}')"
    )
    conn.execute("INSERT INTO events (row_id, task_id, state, at) VALUES (1, 'old-1', 'x', ?)",
                 (now,))  # fmt: skip
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def test_a_version_2_log_is_migrated_keeping_every_row(tmp_path):
    path = tmp_path / "v2.sqlite"
    old_log(path, 2)
    with TaskLog(path) as log:
        row = log.get("old-1")
        assert (row["state"], row["credits"], row["tags"]) == ("success", 80, ["x"])
        assert all(row[col] is None for col in NEW_COLUMNS)
        assert [r["client_ref"] for r in log.unsent()] == ["vidu-nb:b"]
        log.update(Task(id="old-1", state="success", credits=80))  # writes still work
        df = log.df
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert str(df["watermark"].dtype) == "boolean" and str(df["wm_position"].dtype) == "Int64"
    assert isinstance(df["wm_url"].dtype, pd.StringDtype)
    assert isinstance(df["meta_data"].dtype, pd.StringDtype)
    assert isinstance(df["source"].dtype, pd.CategoricalDtype)
    assert df["watermark"].isna().all() and df["source"].isna().all()


def test_a_version_1_log_goes_through_every_step(tmp_path):
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    tasklog_schema.MIGRATIONS[0](conn)
    conn.execute("INSERT INTO tasks (task_id, state) VALUES ('t', 'processing')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with TaskLog(path) as log:
        assert log.pending() == ["t"]
        assert {"image_path", "owner", *NEW_COLUMNS} <= set(log.df.columns)


def test_new_columns_survive_csv_and_parquet_exports(tmp_path):
    path = tmp_path / "v2.sqlite"
    old_log(path, 2)
    with TaskLog(path) as log:
        with log._store.write() as conn:  # a row as an imported watermarked task would have it
            conn.run(
                "UPDATE tasks SET watermark = 1, wm_position = 2, wm_url = 'http://x/w.png',"
                " meta_data = '{\"a\": 1}', source = 'imported' WHERE task_id = 'old-1'"
            )
        df = log.df
        csv = read_export(log.to_csv(tmp_path / "out.csv"))
        parquet = read_export(log.to_parquet(tmp_path / "out.parquet"))
    for back in (csv, parquet):
        for col in NEW_COLUMNS:
            assert str(back[col].dtype) == str(df[col].dtype), col
        assert bool(back.loc[1, "watermark"]) is True
        assert (back.loc[1, "wm_position"], back.loc[1, "source"]) == (2, "imported")
        assert back.loc[1, "meta_data"] == '{"a": 1}'


def sqlite_shape(conn: sqlite3.Connection) -> dict:
    """Every table's columns (name, type, not null, default, key), indexes and references."""
    out = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                 " AND name IN ('tasks', 'events', 'votes') ORDER BY name"):  # fmt: skip
        indexes = conn.execute(f"PRAGMA index_list({table})").fetchall()
        out[table] = {
            "columns": conn.execute(f"PRAGMA table_info({table})").fetchall(),
            "indexes": sorted(
                [i[1], i[2], [r[2] for r in conn.execute(f"PRAGMA index_info({i[1]})")]]
                for i in indexes
            ),
            "references": sorted(conn.execute(f"PRAGMA foreign_key_list({table})").fetchall()),
        }
    return json.loads(json.dumps(out))


def with_v6(v5: dict) -> dict:
    """Release 5's shape plus what schema 6 adds: two columns of ``tasks`` (the lease's end,
    who asked) and an index on ``owner`` (a poller's rows, renewed in one statement)."""
    tasks = v5["tasks"]
    last = tasks["columns"][-1][0]
    tasks["columns"] += [
        [last + 1, "lease_until", "REAL", 0, None, 0],
        [last + 2, "submitted_by", "TEXT", 0, None, 0],
    ]
    tasks["indexes"] = sorted([*tasks["indexes"], ["tasks_owner", 0, ["owner"]]])
    return v5


def test_the_neutral_definition_makes_the_sqlite_schema_earlier_releases_made(tmp_path):
    """``tasklog_schema_v5.json`` is what release 5's hand-written SQLite migrations made: a
    log made (or upgraded) from the one definition both databases share has exactly that."""
    expected = with_v6(json.loads((Path(__file__).parent / "tasklog_schema_v5.json").read_text()))
    with TaskLog(tmp_path / "new.sqlite") as log:
        new = sqlite_shape(log._store.connection)
    assert {t: new[t] for t in expected} == expected
    path = tmp_path / "v2.sqlite"
    old_log(path, 2)
    with TaskLog(path) as log:
        upgraded = sqlite_shape(log._store.connection)
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # the duel checks came too
            log._store.connection.execute(
                "INSERT INTO votes (left_row_id, right_row_id, winner_row_id, at)"
                " VALUES (1, 2, 1, 0), (1, 1, NULL, 0)"
            )
    assert {t: upgraded[t] for t in expected} == expected


def test_every_version_renders_for_both_databases():
    for version in tasklog_schema.MIGRATIONS:
        for dialect in ("sqlite", "postgresql"):
            assert version.ddl(dialect), (version, dialect)
    pg = "\n".join(s for v in tasklog_schema.MIGRATIONS for s in v.ddl("postgresql"))
    assert "DOUBLE PRECISION" in pg and " REAL" not in pg  # float seconds keep their fraction
    assert "GENERATED BY DEFAULT AS IDENTITY" in pg and "AUTOINCREMENT" not in pg


def test_a_column_spec_with_a_typo_is_refused():
    step = tasklog_schema.AddColumns("tasks", ["later INTEGR"])
    with pytest.raises(ValueError, match="later INTEGR"):
        step.ddl("sqlite")
    fine = tasklog_schema.AddColumns("tasks", ["tries INTEGER NOT NULL DEFAULT 0"])
    assert fine.ddl("postgresql") == [
        "ALTER TABLE tasks ADD COLUMN tries BIGINT DEFAULT 0 NOT NULL"
    ]

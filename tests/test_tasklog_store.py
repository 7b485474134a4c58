"""The task log's storage is swappable: ``TaskLog(store=...)`` runs every part on another store.

``MemoryStore`` below is a second backend written against ``store.Store`` alone: its rows live
in an in-memory database, its driver takes named placeholders (``:p1``), and it gives nothing
but the interface (no connection, no lock to borrow). A poller submits, loses an answer, finds
it in the task list, follows and downloads; the log syncs, reconciles, is judged, exported
and read as a frame, with and without a change feed. Had a part reached past the interface
(SQLite's connection, a PRAGMA, a ``?`` the store did not convert), it would fail here."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.client.timing import Timing
from vidu_nb.errors import ValidationError, ViduError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.ledger import Ledger
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import SQLiteStore, Store, TaskLog, frame, read_export, schema
from vidu_nb.tracking.tasklog import sqlitechanges as feed
from vidu_nb.tracking.tasklog.store import Connection, provides

IMAGE = make_image(160, 120)


def named(sql: str) -> tuple[str, int]:
    """``sql`` with its ``?`` as ``:p1``, ``:p2``, ...: what a store whose driver takes another
    style does, in one place. A ``?`` inside a quoted literal would be a part's mistake."""
    pieces = sql.split("'")
    assert len(pieces) % 2 == 1, f"unbalanced quotes: {sql}"
    count = 0
    for i in range(0, len(pieces), 2):  # outside quotes
        out = []
        for ch in pieces[i]:
            if ch == "?":
                count += 1
                out.append(f":p{count}")
            else:
                out.append(ch)
        pieces[i] = "".join(out)
    for i in range(1, len(pieces), 2):
        assert "?" not in pieces[i], f"a ? inside a literal: {sql}"
    return "'".join(pieces), count


class MemoryStatements:
    """``store.Connection`` of ``MemoryStore``: the parts' SQL, converted and recorded."""

    __slots__ = ("_store",)

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def _run(self, sql: str, args: Sequence[Any]) -> sqlite3.Cursor:
        self._store.sent.append(sql)
        text, count = named(sql)
        assert count == len(args), (sql, args)
        return self._store._db().execute(text, {f"p{i}": v for i, v in enumerate(args, 1)})

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, args).fetchall()

    def row(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self._run(sql, args).fetchone()

    def table(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[Any]]:
        cur = self._run(sql, args)
        rows = cur.fetchall()
        return [d[0] for d in cur.description], rows

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._run(sql, args).rowcount

    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        marks = ", ".join("?" for _ in values)
        cur = self._run(
            f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})", [*values.values()]
        )
        return int(cur.lastrowid or 0)

    # The change feed: SQLite's triggers, or none at all (every read of the frame is full).
    def change_mark(self) -> tuple[int | None, int]:
        return feed.mark(self._store._db()) if self._store.feed else (None, 0)

    def changed_rows(self, since: int, most: int) -> list[tuple[Any, ...]]:
        return feed.changed(self._store._db(), since, most) if self._store.feed else []

    def identity(self) -> str:
        return feed.identity(self._store._db()) if self._store.feed else ""


class MemoryStore:
    """A second ``store.Store``: the log's rows in memory, the files in ``home``."""

    def __init__(self, home: Path, *, feed: bool) -> None:
        self.path = home / "team-log"  # stands for the log: never created
        self.feed = feed
        self.sent: list[str] = []  # every statement a part ran, as the part wrote it
        self.commits = 0
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._statements = MemoryStatements(self)

    @property
    def cache_dir(self) -> Path:
        return self.path.parent / "team-files"

    @property
    def version(self) -> tuple[int, int]:
        return (self.commits, 0)  # no other process can write to memory

    def open(self) -> None:
        with self._lock:
            if self._conn is None:
                conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                schema.migrate(conn)
                self._conn = conn
                self.watch_changes()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ViduError("the memory store is closed")
        return self._conn

    def watch_changes(self) -> None:
        if self.feed:
            with self._lock:
                feed.install(self._db())

    def integrity_check(self) -> str:
        return "ok"

    @contextmanager
    def read(self) -> Iterator[MemoryStatements]:
        with self._lock:
            self._db()
            yield self._statements

    @contextmanager
    def snapshot(self) -> Iterator[MemoryStatements]:
        with self._lock:  # nobody else writes to this memory: the lock is a snapshot
            self._db()
            yield self._statements

    @contextmanager
    def write(self) -> Iterator[MemoryStatements]:
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield self._statements
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self.commits += 1


def req(i: int = 0, **kw: Any) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1, **kw)


def test_both_stores_are_stores(tmp_path):
    assert provides(MemoryStore(tmp_path, feed=True), Store)
    assert provides(SQLiteStore(tmp_path / "a.sqlite"), Store)  # not open: nothing is asked
    assert provides(MemoryStatements(MemoryStore(tmp_path, feed=True)), Connection)
    assert not provides(object(), Store) and not (tmp_path / "a.sqlite").exists()


def test_a_store_or_a_path_not_both_and_a_store_must_be_one(tmp_path):
    with pytest.raises(ValidationError, match="path.*a path or a store"):
        TaskLog(tmp_path / "a.sqlite", store=MemoryStore(tmp_path, feed=True))
    with pytest.raises(ValidationError, match="store"):
        TaskLog(store=tmp_path / "a.sqlite")  # type: ignore[arg-type]
    assert not (tmp_path / "a.sqlite").exists()


@pytest.mark.parametrize("with_feed", [True, False], ids=["change feed", "no feed"])
def test_every_part_runs_on_another_store(tmp_path, with_feed):
    store = MemoryStore(tmp_path, feed=with_feed)
    with (
        Simulator(speed=100, video_height=64, seed=5) as sim,
        ViduClient.for_simulator(sim) as client,
        TaskLog(store=store) as log,
    ):
        assert log.path == store.path and log.cache_dir == store.cache_dir
        # Unsent rows of a poller that is gone are taken over and sent (owners, rebuild).
        log.record_queued(req(0), "left-behind", owner="gone", experiment="team")
        sim.faults.add("drop_after", count=1, method="POST")  # the first answer is lost
        poller = Poller.resume(client, log)
        try:
            handles = poller.submit_many([req(1), req(2)], experiment="team", tags=["t"])
            assert poller.wait_all(60)
        finally:
            poller.stop()
        rows = [log.get_by_ref(h) for h in ["left-behind", *handles]]
        assert [r["state"] for r in rows] == ["success"] * 3  # the lost one found in the list
        assert all(Path(r["video_path"]).is_file() for r in rows)
        assert Path(rows[0]["video_path"]).is_relative_to(store.cache_dir)
        assert log.pending() == [] and log.uncertain() == [] and log.missing_files() == []
        passed = [set(log.events(r["task_id"])["state"]) for r in rows]
        assert sum("uncertain" in p for p in passed) == 1  # found again, sent once

        # Tasks made elsewhere are imported; a known one is updated.
        elsewhere = client.submit(req(9, payload="console"))
        assert client.wait(elsewhere, timeout=60).state == "success"
        summary = log.sync(client)
        assert (summary.added, summary.updated) == (1, 3)
        assert log.get(elsewhere.id)["source"] == "imported" and len(log) == 4

        # The frame: cached, patched (or read again) after a change, equal to a fresh read.
        df = log.df
        assert list(df["task_id"]) == [r["task_id"] for r in rows] + [elsewhere.id]
        log.tag(rows[2]["task_id"], tags=["best"], notes="keep")
        log.rate(rows[2]["task_id"], stars=5, pick=True)
        before = len(store.sent)
        again = log.df
        full = "SELECT * FROM tasks ORDER BY row_id" in store.sent[before:]
        assert full is not with_feed  # patched from the feed, or read again without one
        assert again.loc[rows[2]["row_id"], ["rating", "notes"]].tolist() == [5, "keep"]
        with store.read() as conn:
            cols, every = conn.table("SELECT * FROM tasks ORDER BY row_id")
        pd.testing.assert_frame_equal(again, frame.records_frame(every, cols))
        assert list(log.to_frame(tag="best")["row_id"]) == [rows[2]["row_id"]]
        assert len(log.to_frame(experiment="team", columns=["credits"])) == 3

        # Judging, exports, the sums others learn from.
        vote = log.vote(rows[1]["task_id"], rows[2]["task_id"], winner=rows[2]["task_id"])
        assert list(log.votes()["vote_id"]) == [vote]
        assert log.rankings().iloc[0]["task_id"] == rows[2]["task_id"]
        assert log.judgments.row(rows[2]["task_id"])["rating"] == 5
        back = read_export(log.to_csv(tmp_path / "out.csv"))
        pd.testing.assert_frame_equal(back, log.df, check_dtype=False)
        assert Ledger(log).learned()  # charged_credits / charged_since
        seen = log.timing_history(client.base_url)  # the tasks seen processing here
        assert Timing().learn_history(seen) == len(seen) and not log.timing_history("http://x")
        version = log.version
        assert log.unvote(vote) and log.version != version
        assert log.integrity_check() == "ok"
        with pytest.raises(ViduError, match="not in"):
            log.set_state("no-such-task", "cancelled")
    assert not store.path.exists()  # every row lived in the other store
    sql = " ".join(store.sent).upper()
    assert store.sent and not any(
        word in sql for word in ("PRAGMA", "SQLITE_", "IS ?", "INSERT OR")
    )

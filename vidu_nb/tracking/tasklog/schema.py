"""The task log's SQLite schema, its migrations and the kind (dtype) of each column.

The schema version lives in ``PRAGMA user_version``; ``MIGRATIONS[i]`` takes a log from
version ``i`` to ``i + 1``. A later release appends a function and never edits an old one, so
any old log opens and is upgraded in one transaction. Timestamps are stored as float Unix
seconds (UTC): compact, sortable, and turned into ``datetime64[ns, UTC]`` on read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ...errors import ViduError


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE tasks (
            row_id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id TEXT UNIQUE,
            client_ref TEXT,
            experiment TEXT,
            tags TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT '',
            model TEXT,
            prompt TEXT,
            duration INTEGER,
            resolution TEXT,
            seed_requested INTEGER,
            seed INTEGER,
            audio INTEGER,
            audio_type TEXT,
            voice_id TEXT,
            is_rec INTEGER,
            bgm INTEGER,
            movement_amplitude TEXT,
            off_peak INTEGER,
            payload TEXT,
            callback_url TEXT,
            options TEXT,
            image_sha256 TEXT,
            image_format TEXT,
            image_width INTEGER,
            image_height INTEGER,
            image_bytes INTEGER,
            image_url TEXT,
            thumbnail_path TEXT,
            state TEXT NOT NULL,
            err_code TEXT NOT NULL DEFAULT '',
            error TEXT,
            credits INTEGER,
            submitted_at REAL,
            created_at REAL,
            queueing_at REAL,
            processing_at REAL,
            finished_at REAL,
            updated_at REAL,
            trace_ids TEXT NOT NULL DEFAULT '',
            video_url TEXT,
            cover_url TEXT,
            urls_fetched_at REAL,
            video_path TEXT,
            cover_path TEXT,
            base_url TEXT
        )
        """
    )
    conn.execute("CREATE INDEX tasks_client_ref ON tasks(client_ref)")
    conn.execute("CREATE INDEX tasks_state ON tasks(state)")
    conn.execute("CREATE INDEX tasks_experiment ON tasks(experiment)")
    conn.execute(
        """
        CREATE TABLE events (
            event_id INTEGER PRIMARY KEY AUTOINCREMENT,
            row_id INTEGER NOT NULL REFERENCES tasks(row_id),
            task_id TEXT,
            state TEXT NOT NULL,
            at REAL NOT NULL,
            detail TEXT
        )
        """
    )
    conn.execute("CREATE INDEX events_row ON events(row_id)")


def _v2(conn: sqlite3.Connection) -> None:
    """Requests are recorded before they are sent: the start image is kept as a file so a
    ``queued`` row can be sent after a restart, and ``owner`` names the poller holding it."""
    conn.execute("ALTER TABLE tasks ADD COLUMN image_path TEXT")
    conn.execute("ALTER TABLE tasks ADD COLUMN owner TEXT")


def _v3(conn: sqlite3.Connection) -> None:
    """The watermark and metadata fields of a request (``watermark``, ``wm_position``,
    ``wm_url``, ``meta_data``), and ``source``: ``'imported'`` for a task found on the service
    by ``TaskLog.sync`` (created elsewhere), NULL for one sent or tracked from here."""
    for column in (
        "watermark INTEGER", "wm_position INTEGER", "wm_url TEXT", "meta_data TEXT",
        "source TEXT",
    ):  # fmt: skip
        conn.execute(f"ALTER TABLE tasks ADD COLUMN {column}")
    conn.execute("CREATE INDEX tasks_created_at ON tasks(created_at)")


def _v4(conn: sqlite3.Connection) -> None:
    """Judging (``judgments.py``): a task's ``rating`` (1-5 stars), ``pick`` (1 pick, 0 reject)
    and short ``note``, kept on its row so the cached frame sees them change; the
    ``parent_row_id`` a promoted re-run came from; and the ``votes`` of blind duels (a tie has
    no winner; the checks keep a vote about two different tasks, won by one of them)."""
    for column in (
        "rating INTEGER", "pick INTEGER", "note TEXT",
        "parent_row_id INTEGER REFERENCES tasks(row_id)",
    ):  # fmt: skip
        conn.execute(f"ALTER TABLE tasks ADD COLUMN {column}")
    conn.execute(
        """
        CREATE TABLE votes (
            vote_id INTEGER PRIMARY KEY AUTOINCREMENT,
            left_row_id INTEGER NOT NULL REFERENCES tasks(row_id),
            right_row_id INTEGER NOT NULL REFERENCES tasks(row_id),
            winner_row_id INTEGER REFERENCES tasks(row_id),
            at REAL NOT NULL,
            voter TEXT,
            note TEXT,
            CHECK (left_row_id != right_row_id),
            CHECK (winner_row_id IS NULL OR winner_row_id IN (left_row_id, right_row_id))
        )
        """
    )
    conn.execute("CREATE INDEX votes_left ON votes(left_row_id)")
    conn.execute("CREATE INDEX votes_right ON votes(right_row_id)")


#: What ``measures.measure_video`` found in a task's cached video (``TaskLog.measure``), one
#: column per measure; ``measured_at`` is NULL until the video was measured.
MEASURE_COLUMNS = (
    "motion REAL", "flicker REAL", "first_frame_ssim REAL", "video_duration_s REAL",
    "video_fps REAL", "video_width INTEGER", "video_height INTEGER", "video_has_audio INTEGER",
    "measured_at REAL",
)  # fmt: skip


def _v5(conn: sqlite3.Connection) -> None:
    """Measures of each delivered video (motion, flicker, fidelity of the first frame to the
    start image, what was delivered), computed after the download; see ``measures.py``."""
    for column in MEASURE_COLUMNS:
        conn.execute(f"ALTER TABLE tasks ADD COLUMN {column}")


# -- v6: a log shared by a team -------------------------------------------------------------
#: Columns of schema 6, as ``ALTER TABLE tasks ADD COLUMN`` takes them (any database).
TEAM_COLUMNS = ("lease_until REAL", "submitted_by TEXT")


def _v6(conn: sqlite3.Connection) -> None:
    """A log shared by several pollers (kernels, machines): ``lease_until`` is when the lease
    of the poller named in ``owner`` on an unfinished row runs out (``leases.py``: one poller
    follows, sends or searches each row at a time; an expired lease is taken over), and
    ``submitted_by`` is who asked for the task (JupyterHub's user, else the OS user)."""
    for column in TEAM_COLUMNS:
        conn.execute(f"ALTER TABLE tasks ADD COLUMN {column}")
    conn.execute("CREATE INDEX tasks_owner ON tasks(owner)")


#: ``MIGRATIONS[i]`` upgrades a log from schema version ``i`` to ``i + 1``.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date inside one write transaction; returns the old version.

    ``BEGIN IMMEDIATE`` takes the write lock first, so two kernels opening a new log at the
    same moment do not both create the tables.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return version
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ViduError(
                f"task log schema version {version} is newer than this vidu-nb supports "
                f"({SCHEMA_VERSION}); upgrade vidu-nb to open it"
            )
        for step in MIGRATIONS[version:]:
            step(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


# -- DataFrame dtypes ----------------------------------------------------------------------
TIME_COLUMNS = (
    "submitted_at",
    "created_at",
    "queueing_at",
    "processing_at",
    "finished_at",
    "updated_at",
    "urls_fetched_at",
    "measured_at",
    "lease_until",
)
INT_COLUMNS = (
    "row_id",
    "duration",
    "seed_requested",
    "seed",
    "image_width",
    "image_height",
    "image_bytes",
    "credits",
    "wm_position",
    "rating",
    "parent_row_id",
    "video_width",
    "video_height",
)
BOOL_COLUMNS = ("audio", "is_rec", "bgm", "off_peak", "watermark", "pick", "video_has_audio")
#: Measured numbers: ``float64``, NaN where not measured.
FLOAT_COLUMNS = ("motion", "flicker", "first_frame_ssim", "video_duration_s", "video_fps")
CATEGORY_COLUMNS = (
    "model",
    "resolution",
    "state",
    "audio_type",
    "movement_amplitude",
    "image_format",
    "experiment",
    "source",
    "submitted_by",
)
#: Text columns stored as ``''`` rather than NULL when empty (``NOT NULL DEFAULT ''``).
TEXT_NOT_NULL = ("tags", "notes", "err_code", "trace_ids")

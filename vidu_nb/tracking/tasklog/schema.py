"""The task log's tables, defined once for every database, their migrations, and the kind
(dtype) of each column.

A schema version is a ``Version``: an ordered list of neutral steps (``Table``, ``AddColumns``,
``Index``, ``Run`` for portable data changes) that SQLAlchemy's DDL compiler renders for the
database at hand (``ddl(dialect)``: SQLite or PostgreSQL), so the SQLite file and a team's
PostgreSQL database are made by the same definition. ``MIGRATIONS[i]`` takes a log from version
``i`` to ``i + 1``. A later release appends one entry and never edits an old one, so any old
log opens and is upgraded in one transaction. (A plain function of a ``sqlite3`` connection is
accepted too, for SQLite logs only: the form migrations had before there was a second
database; a PostgreSQL log refuses to open past one.)

Where the version number lives is the store's: SQLite's ``PRAGMA user_version`` (``migrate``
below, as every earlier release kept it), PostgreSQL's ``schema_version`` table
(``postgres.py``). Timestamps are stored as float Unix seconds (UTC; ``REAL`` in SQLite,
``DOUBLE PRECISION`` in PostgreSQL): compact, sortable, and turned into
``datetime64[ns, UTC]`` on read. Integers are ``BIGINT`` in PostgreSQL (seeds, byte counts).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...errors import ViduError


# -- the steps of a version (rendered by ``ddl``, SQLAlchemy's DDL compiler) --------------------
# A column is a short spec: ``"name KIND [NOT NULL] [DEFAULT '']"`` or ``"name INTEGER
# REFERENCES tasks"`` (a task's ``row_id``); KIND is INTEGER, REAL (float seconds, measures) or
# TEXT.
@dataclass(frozen=True)
class Table:
    """``CREATE TABLE``: ``key`` is its integer primary key (numbered by the database, never
    reused: SQLite's ``AUTOINCREMENT``, PostgreSQL's identity column)."""

    name: str
    key: str
    columns: Sequence[str]
    checks: Sequence[str] = ()
    unique: Sequence[str] = ()

    def ddl(self, dialect: str) -> list[str]:
        from . import ddl

        return [
            ddl.create_table(dialect, self.name, self.key, self.columns, self.checks, self.unique)
        ]


@dataclass(frozen=True)
class AddColumns:
    """``ALTER TABLE ... ADD COLUMN`` for each column spec."""

    table: str
    columns: Sequence[str]

    def ddl(self, dialect: str) -> list[str]:
        from . import ddl

        return [ddl.add_column(dialect, self.table, spec) for spec in self.columns]


@dataclass(frozen=True)
class Index:
    """``CREATE INDEX name ON table (columns)``."""

    name: str
    table: str
    columns: Sequence[str]

    def ddl(self, dialect: str) -> list[str]:
        from . import ddl

        return [ddl.create_index(dialect, self.name, self.table, self.columns)]


@dataclass(frozen=True)
class Run:
    """A data change both databases run as written (portable SQL, no placeholders)."""

    sql: str

    def ddl(self, dialect: str) -> list[str]:
        return [self.sql]


Step = Table | AddColumns | Index | Run


class Version:
    """One schema version: the steps that take a log from the one before to it, in order."""

    def __init__(self, why: str, *steps: Step) -> None:
        self.__doc__ = why
        self.steps = steps
        self._rendered: dict[str, list[str]] = {}  # a new log each test: render once

    def __repr__(self) -> str:
        return f"Version({(self.__doc__ or '').split('.')[0]!r}, {len(self.steps)} steps)"

    def ddl(self, dialect: str) -> list[str]:
        """The statements, rendered for ``"sqlite"`` or ``"postgresql"``."""
        if dialect not in self._rendered:
            self._rendered[dialect] = [sql for step in self.steps for sql in step.ddl(dialect)]
        return list(self._rendered[dialect])

    def __call__(self, conn: sqlite3.Connection) -> None:
        """Run on a ``sqlite3`` connection (the form every earlier migration had)."""
        for sql in self.ddl("sqlite"):
            conn.execute(sql)


Migration = Version | Callable[[sqlite3.Connection], None]


# -- the versions ------------------------------------------------------------------------------
_V1_TASKS = (
    "task_id TEXT", "client_ref TEXT", "experiment TEXT",
    "tags TEXT NOT NULL DEFAULT ''", "notes TEXT NOT NULL DEFAULT ''",
    "model TEXT", "prompt TEXT", "duration INTEGER", "resolution TEXT",
    "seed_requested INTEGER", "seed INTEGER", "audio INTEGER", "audio_type TEXT",
    "voice_id TEXT", "is_rec INTEGER", "bgm INTEGER", "movement_amplitude TEXT",
    "off_peak INTEGER", "payload TEXT", "callback_url TEXT", "options TEXT",
    "image_sha256 TEXT", "image_format TEXT", "image_width INTEGER", "image_height INTEGER",
    "image_bytes INTEGER", "image_url TEXT", "thumbnail_path TEXT",
    "state TEXT NOT NULL", "err_code TEXT NOT NULL DEFAULT ''", "error TEXT",
    "credits INTEGER", "submitted_at REAL", "created_at REAL", "queueing_at REAL",
    "processing_at REAL", "finished_at REAL", "updated_at REAL",
    "trace_ids TEXT NOT NULL DEFAULT ''", "video_url TEXT", "cover_url TEXT",
    "urls_fetched_at REAL", "video_path TEXT", "cover_path TEXT", "base_url TEXT",
)  # fmt: skip

V1 = Version(
    "The tasks and their events.",
    Table("tasks", "row_id", _V1_TASKS, unique=("task_id",)),
    Index("tasks_client_ref", "tasks", ["client_ref"]),
    Index("tasks_state", "tasks", ["state"]),
    Index("tasks_experiment", "tasks", ["experiment"]),
    Table(
        "events",
        "event_id",
        (
            "row_id INTEGER NOT NULL REFERENCES tasks",
            "task_id TEXT",
            "state TEXT NOT NULL",
            "at REAL NOT NULL",
            "detail TEXT",
        ),
    ),  # fmt: skip
    Index("events_row", "events", ["row_id"]),
)
V2 = Version(
    """Requests are recorded before they are sent: the start image is kept as a file so a
    ``queued`` row can be sent after a restart, and ``owner`` names the poller holding it.""",
    AddColumns("tasks", ["image_path TEXT", "owner TEXT"]),
)
V3 = Version(
    """The watermark and metadata fields of a request (``watermark``, ``wm_position``,
    ``wm_url``, ``meta_data``), and ``source``: ``'imported'`` for a task found on the service
    by ``TaskLog.sync`` (created elsewhere), NULL for one sent or tracked from here.""",
    AddColumns(
        "tasks",
        [
            "watermark INTEGER",
            "wm_position INTEGER",
            "wm_url TEXT",
            "meta_data TEXT",
            "source TEXT",
        ],
    ),  # fmt: skip
    Index("tasks_created_at", "tasks", ["created_at"]),
)
V4 = Version(
    """Judging (``judgments.py``): a task's ``rating`` (1-5 stars), ``pick`` (1 pick, 0 reject)
    and short ``note``, kept on its row so the cached frame sees them change; the
    ``parent_row_id`` a promoted re-run came from; and the ``votes`` of blind duels (a tie has
    no winner; the checks keep a vote about two different tasks, won by one of them).""",
    AddColumns(
        "tasks",
        [
            "rating INTEGER",
            "pick INTEGER",
            "note TEXT",
            "parent_row_id INTEGER REFERENCES tasks",
        ],
    ),  # fmt: skip
    Table(
        "votes",
        "vote_id",
        (
            "left_row_id INTEGER NOT NULL REFERENCES tasks",
            "right_row_id INTEGER NOT NULL REFERENCES tasks",
            "winner_row_id INTEGER REFERENCES tasks",
            "at REAL NOT NULL",
            "voter TEXT",
            "note TEXT",
        ),
        checks=(
            "left_row_id != right_row_id",
            "winner_row_id IS NULL OR winner_row_id IN (left_row_id, right_row_id)",
        ),
    ),  # fmt: skip
    Index("votes_left", "votes", ["left_row_id"]),
    Index("votes_right", "votes", ["right_row_id"]),
)

#: What ``measures.measure_video`` found in a task's cached video (``TaskLog.measure``), one
#: column per measure; ``measured_at`` is NULL until the video was measured.
MEASURE_COLUMNS = (
    "motion REAL", "flicker REAL", "first_frame_ssim REAL", "video_duration_s REAL",
    "video_fps REAL", "video_width INTEGER", "video_height INTEGER", "video_has_audio INTEGER",
    "measured_at REAL",
)  # fmt: skip
V5 = Version(
    """Measures of each delivered video (motion, flicker, fidelity of the first frame to the
    start image, what was delivered), computed after the download; see ``measures.py``.""",
    AddColumns("tasks", MEASURE_COLUMNS),
)


# -- v6: a log shared by a team (a step of its own: leases and who asked) --------------------
#: Columns of schema 6: when the lease of the poller named in ``owner`` runs out, and who
#: asked for the task.
TEAM_COLUMNS = ("lease_until REAL", "submitted_by TEXT")
V6 = Version(
    """A log shared by several pollers (kernels, machines): ``lease_until`` is when the lease
    of the poller named in ``owner`` on an unfinished row runs out (``leases.py``: one poller
    follows, sends or searches each row at a time; an expired lease is taken over), and
    ``submitted_by`` is who asked for the task (JupyterHub's user, else the OS user).""",
    AddColumns("tasks", TEAM_COLUMNS),
    Index("tasks_owner", "tasks", ["owner"]),
)

#: ``MIGRATIONS[i]`` upgrades a log from schema version ``i`` to ``i + 1``: append, never edit.
MIGRATIONS: list[Migration] = [V1, V2, V3, V4, V5, V6]
SCHEMA_VERSION = len(MIGRATIONS)


def newer(version: int, supported: int) -> ViduError:
    return ViduError(
        f"task log schema version {version} is newer than this vidu-nb supports "
        f"({supported}); upgrade vidu-nb to open it"
    )


def migrate(conn: sqlite3.Connection) -> int:
    """Bring a SQLite log's schema up to date inside one write transaction; returns the old
    version.

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
            raise newer(version, SCHEMA_VERSION)
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

"""The durable task log: ``TaskLog`` (a SQLite file or a team's PostgreSQL database, pandas
DataFrame view).

``log.py`` holds the facade class, which builds one part per job over a ``store.Store`` and
delegates to them: ``writes`` (changes), ``unsent`` (requests recorded before they are sent;
``owners``: which poller holds them), ``reconcile`` and ``search`` (uncertain submissions,
``sync``), ``reads`` (lookups), ``frames`` (the typed DataFrame: ``frame``, kept between reads
by ``framecache``, ``framepatch``, ``framesnapshot``), ``exports`` (CSV and Parquet files),
``judgments`` (ratings, votes, rankings); ``files`` the images and thumbnails kept with rows,
``rows`` the pure conversions between requests, tasks and rows. ``store.py`` is the storage
interface the parts run SQL through, ``sqlite.py`` (with ``sqlitechanges``) its SQLite
implementation, ``postgres.py`` (with ``pgchanges``) its PostgreSQL one; ``schema`` the tables and
their migrations for both (``ddl`` renders them per database).
"""

from .exports import read_export
from .log import (
    DEFAULT_PATH,
    TaskLog,
    UncertainSubmissionsWarning,
    default_log_path,
    is_log_url,
    shown_target,
    store_for,
)
from .rows import CLOSED_STATES
from .schema import SCHEMA_VERSION
from .sqlite import SQLiteStore
from .store import Store
from .unsent import LOCAL_STATES

__all__ = [
    "CLOSED_STATES",
    "DEFAULT_PATH",
    "LOCAL_STATES",
    "SCHEMA_VERSION",
    "SQLiteStore",
    "Store",
    "TaskLog",
    "UncertainSubmissionsWarning",
    "default_log_path",
    "is_log_url",
    "read_export",
    "shown_target",
    "store_for",
]

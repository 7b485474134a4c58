"""The durable task log: ``TaskLog`` (SQLite file, pandas DataFrame view).

``log.py`` holds the facade class; ``store.py`` the connection and transactions, ``writes.py``
the changes, ``reads.py`` the lookups, ``frame.py`` the typed DataFrame, ``exports.py`` CSV and
Parquet files, ``schema.py`` the versioned schema and migrations, ``rows.py`` the pure
conversions between requests, tasks and rows.
"""

from .exports import read_export
from .log import DEFAULT_PATH, TaskLog, default_log_path
from .rows import CLOSED_STATES
from .schema import SCHEMA_VERSION

__all__ = [
    "CLOSED_STATES",
    "DEFAULT_PATH",
    "SCHEMA_VERSION",
    "TaskLog",
    "default_log_path",
    "read_export",
]

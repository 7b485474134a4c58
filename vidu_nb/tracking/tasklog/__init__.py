"""The durable task log: ``TaskLog`` (SQLite file, pandas DataFrame view).

``log.py`` holds the facade class; ``store.py`` the connection and transactions, ``writes.py``
the changes, ``unsent.py`` requests recorded before they are sent (``owners.py``: which poller
holds them), ``reads.py`` the lookups, ``frame.py`` the typed DataFrame (``framecache``,
``framepatch``, ``framesnapshot``: kept between reads), ``exports.py`` CSV and Parquet files,
``schema.py`` the versioned schema and migrations, ``rows.py`` the pure conversions between
requests, tasks and rows.
"""

from .exports import read_export
from .log import DEFAULT_PATH, TaskLog, UncertainSubmissionsWarning, default_log_path
from .rows import CLOSED_STATES
from .schema import SCHEMA_VERSION
from .unsent import LOCAL_STATES

__all__ = [
    "CLOSED_STATES",
    "DEFAULT_PATH",
    "LOCAL_STATES",
    "SCHEMA_VERSION",
    "TaskLog",
    "UncertainSubmissionsWarning",
    "default_log_path",
    "read_export",
]

"""The durable task log: ``TaskLog`` (SQLite file, pandas DataFrame view).

``log.py`` holds the class, ``schema.py`` the versioned schema, migrations and dtypes,
``rows.py`` the pure conversions between requests, tasks and rows.
"""

from .log import DEFAULT_PATH, TaskLog, default_log_path
from .rows import CLOSED_STATES
from .schema import SCHEMA_VERSION

__all__ = ["CLOSED_STATES", "DEFAULT_PATH", "SCHEMA_VERSION", "TaskLog", "default_log_path"]

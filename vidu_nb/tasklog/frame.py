"""The task log as pandas: real dtypes, derived timing columns, the events table.

Times become ``datetime64[ns, UTC]``, counts nullable ``Int64``, flags nullable ``boolean``,
repeated labels (model, state, ...) ``category`` and other text ``string``, so a filter or a
groupby in the notebook behaves the same on every log (the column kinds live in ``schema``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .schema import BOOL_COLUMNS, CATEGORY_COLUMNS, INT_COLUMNS, TIME_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

EVENT_COLUMNS = ["event_id", "row_id", "task_id", "state", "at", "detail"]
#: Computed by ``tasks_frame`` from the stored times (seconds, float).
DERIVED_COLUMNS = ("wall_time_s", "generation_s", "queue_s")


def tasks_frame(rows: list[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    """Rows of ``tasks`` (times as Unix seconds) as a typed DataFrame indexed by ``row_id``."""
    import pandas as pd

    df = pd.DataFrame.from_records(rows, columns=columns)
    for col in TIME_COLUMNS:
        if col in df:
            df[col] = utc_seconds(df[col])
    df = typed(df)
    if "finished_at" in df and "submitted_at" in df:
        df["wall_time_s"] = (df["finished_at"] - df["submitted_at"]).dt.total_seconds()
        start = df["processing_at"].fillna(df["submitted_at"])
        df["generation_s"] = (df["finished_at"] - start).dt.total_seconds()
        df["queue_s"] = (df["processing_at"] - df["submitted_at"]).dt.total_seconds()
    return indexed(df)


def events_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    import pandas as pd

    df = pd.DataFrame.from_records(rows, columns=EVENT_COLUMNS)
    df["at"] = utc_seconds(df["at"])
    return df


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """The log's dtypes on every known column; other text columns as ``string``.

    Time columns must already be datetimes; derived float columns are left alone, and so is a
    numeric column this release does not know (added by a later schema).
    """
    import pandas as pd

    for col in INT_COLUMNS:
        if col in df:
            df[col] = df[col].astype("Int64")
    for col in BOOL_COLUMNS:
        if col in df:
            df[col] = df[col].astype("Int64").astype("boolean")
    for col in CATEGORY_COLUMNS:
        if col in df:
            df[col] = df[col].astype("category")
    typed = {*TIME_COLUMNS, *INT_COLUMNS, *BOOL_COLUMNS, *CATEGORY_COLUMNS, *DERIVED_COLUMNS}
    for col in df.columns:
        if col not in typed and not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].astype("string")
    return df


def indexed(df: pd.DataFrame) -> pd.DataFrame:
    """Indexed by ``row_id`` (kept as a column too), as ``TaskLog.df`` is."""
    if "row_id" in df:
        df = df.set_index("row_id", drop=False)
        df.index.name = None
    return df


def utc_seconds(seconds: pd.Series) -> pd.Series:
    import pandas as pd

    times = pd.to_datetime(seconds.astype("float64"), unit="s", utc=True)
    return times.astype("datetime64[ns, UTC]")

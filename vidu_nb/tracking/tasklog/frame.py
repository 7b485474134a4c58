"""The task log as pandas: real dtypes, derived timing columns, the events table.

Times become ``datetime64[ns, UTC]``, counts nullable ``Int64``, flags nullable ``boolean``,
repeated labels (model, state, ...) ``category`` and other text ``string``, so a filter or a
groupby in the notebook behaves the same on every log (the column kinds live in ``schema``).

Rows are converted column by column, each column in one vectorised step (through pyarrow when
pandas keeps its strings in Arrow): building a DataFrame from 100,000 tuples and then
converting each column again cost more than the SQLite read itself. A column whose values do
not fit its kind (a number stored in a text column by hand) takes the general, slower path
with the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .schema import BOOL_COLUMNS, CATEGORY_COLUMNS, INT_COLUMNS, TIME_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

EVENT_COLUMNS = ["event_id", "row_id", "task_id", "state", "at", "detail"]
#: Computed by ``tasks_frame`` from the stored times (seconds, float).
DERIVED_COLUMNS = ("wall_time_s", "generation_s", "queue_s")
#: ``generation_s``, the one definition (the DataFrame and the players' "generated in" use
#: it): the service's processing time, from the first time the log saw the task
#: ``processing`` to ``finished_at``; from ``submitted_at`` when it never saw it processing
#: (a task that went from queueing to done between two checks). Queueing is ``queue_s``.
GENERATION_START = ("processing_at", "submitted_at")
GENERATION_END = "finished_at"


def tasks_frame(rows: Sequence[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    """Rows of ``tasks`` (times as Unix seconds) as a typed DataFrame indexed by ``row_id``."""
    import pandas as pd

    if not rows or not arrow_strings():
        return records_frame(rows, columns)
    by_column = zip(columns, zip(*rows, strict=True), strict=True)
    data = {col: typed_column(col, values) for col, values in by_column}
    return indexed(derive(pd.DataFrame(data, copy=False)))


def records_frame(rows: Sequence[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    """``tasks_frame`` the general way: a DataFrame of Python objects, then each column
    converted (the result the column-wise path must equal)."""
    import pandas as pd

    df = pd.DataFrame.from_records(list(rows), columns=columns)
    for col in TIME_COLUMNS:
        if col in df:
            df[col] = utc_seconds(df[col])
    return indexed(derive(typed(df)))


def typed_column(col: str, values: Sequence[Any]) -> Any:
    """One stored column (a sequence of SQLite values) as the array ``records_frame`` gives
    it, converted in one pass."""
    import pyarrow as pa

    try:
        if col in TIME_COLUMNS:
            return utc_seconds(_numbers(values, pa.float64())).array
        if col in INT_COLUMNS or col in BOOL_COLUMNS:
            return _masked(values, boolean=col in BOOL_COLUMNS)
        arr = pa.array(values, from_pandas=True)
        if col in CATEGORY_COLUMNS and (len(arr) == arr.null_count or pa.types.is_string(arr.type)):
            return _categorical(arr)
        if col not in CATEGORY_COLUMNS:
            return _other(arr)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        pass  # a value of another kind than the column's: the general path decides
    return records_frame([(v,) for v in values], [col])[col].array


def _numbers(values: Sequence[Any], kind: Any) -> Any:
    import pyarrow as pa

    return pa.array(values, type=kind).to_numpy(zero_copy_only=False)


def _masked(values: Sequence[Any], boolean: bool) -> Any:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    arr = pa.array(values, type=pa.int64())
    mask = np.asarray(arr.is_null())
    data = np.asarray(arr.fill_null(0))
    if boolean:
        return pd.arrays.BooleanArray(data != 0, mask)
    return pd.arrays.IntegerArray(data, mask)


def _categorical(arr: Any) -> pd.Categorical:
    """Text as ``category`` with sorted categories, as ``astype("category")`` makes it."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(arr) == arr.null_count:
        return pd.Categorical.from_codes(np.full(len(arr), -1, dtype=np.int8), categories=[])
    encoded = arr.dictionary_encode()
    order = np.asarray(pc.array_sort_indices(encoded.dictionary))  # UTF-8 order = str order
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.asarray(encoded.indices.fill_null(-1)).astype(np.int64)
    codes = np.where(codes < 0, -1, rank[np.maximum(codes, 0)])
    categories = pd.Index(encoded.dictionary.take(pa.array(order)).to_pylist())
    dtype = pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(codes.astype(_code_type(len(categories))), dtype=dtype)


def _code_type(count: int) -> Any:
    import numpy as np

    for kind in (np.int8, np.int16, np.int32):
        if count < np.iinfo(kind).max:
            return kind
    return np.int64


def _other(arr: Any) -> Any:
    """A column this module has no kind for: numbers stay numbers (``float64`` when some are
    missing), everything else is ``string``."""
    import pandas as pd
    import pyarrow as pa

    if pa.types.is_string(arr.type) or pa.types.is_null(arr.type):
        return pd.arrays.ArrowStringArray(pa.chunked_array([arr.cast(pa.large_string())]))
    if pa.types.is_integer(arr.type) and arr.null_count == 0:
        return arr.to_numpy()
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    raise TypeError(f"no column-wise conversion for {arr.type}")


def arrow_strings() -> bool:
    """True when pandas keeps ``string`` columns in Arrow (pyarrow installed, the default)."""
    import pandas as pd

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return pd.StringDtype().storage == "pyarrow"


def derive(df: pd.DataFrame) -> pd.DataFrame:
    """Add the timing columns computed from the stored times (when they are there)."""
    if "finished_at" in df and "submitted_at" in df:
        df["wall_time_s"] = (df["finished_at"] - df["submitted_at"]).dt.total_seconds()
        first, fallback = GENERATION_START
        start = df[first].fillna(df[fallback])
        df["generation_s"] = (df[GENERATION_END] - start).dt.total_seconds()
        df["queue_s"] = (df["processing_at"] - df["submitted_at"]).dt.total_seconds()
    return df


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


def utc_seconds(seconds: Any) -> pd.Series:
    """Unix seconds (a Series or an array; missing as NaN/None) as ``datetime64[ns, UTC]``."""
    import pandas as pd

    times = pd.to_datetime(pd.Series(seconds).astype("float64"), unit="s", utc=True)
    return times.astype("datetime64[ns, UTC]")

"""Exporting the task log's DataFrame to CSV and Parquet files, and reading them back typed.

Parquet keeps every dtype itself. CSV is text, so ``read_export`` puts the log's dtypes back:
UTC times, ``Int64``, ``boolean``, ``category``, ``string``; an empty cell is missing except
in the text columns the log never leaves missing (tags, notes, ...), where it is ``""``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ViduError
from . import frame
from .schema import BOOL_COLUMNS, INT_COLUMNS, TEXT_NOT_NULL, TIME_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from .frames import Frames


class Exports:
    """File exports of the log (``TaskLog`` delegates here); ``read_export`` reads them back."""

    def __init__(self, frames: Frames) -> None:
        self._frames = frames

    def to_csv(self, path: str | os.PathLike[str], **filters: Any) -> Path:
        """CSV export of ``to_frame(**filters)`` (``read_export`` puts the dtypes back)."""
        self._frames.to_frame(**filters).to_csv(path, index=False)
        return Path(path)

    def to_parquet(self, path: str | os.PathLike[str], **filters: Any) -> Path:
        """Parquet export (needs pyarrow: ``pip install vidu-nb[parquet]``)."""
        self._frames.to_frame(**filters).to_parquet(path, index=False)
        return Path(path)


def read_export(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A ``to_csv``/``to_parquet`` file as the DataFrame ``to_frame`` gave (same dtypes)."""
    import pandas as pd

    path = Path(path)
    if path.suffix in (".parquet", ".pq"):
        # Parquet keeps the dtypes, except a category column with no value (e.g. ``source`` in
        # a log with nothing imported), which comes back as plain objects.
        return frame.indexed(frame.typed(pd.read_parquet(path)))
    if ".csv" not in path.suffixes:
        raise ViduError(f"read_export({path.name!r}): expected a .csv or .parquet file")
    text = pd.read_csv(path, dtype=object, keep_default_na=False)
    for col in text.columns:
        if col not in TEXT_NOT_NULL:
            text[col] = text[col].replace("", None)
    for col in TIME_COLUMNS:
        if col in text:
            times = pd.to_datetime(text[col], utc=True, format="ISO8601")
            text[col] = times.astype("datetime64[ns, UTC]")
    for col in (*INT_COLUMNS, *frame.DERIVED_COLUMNS):
        if col in text:
            text[col] = pd.to_numeric(text[col])
    for col in BOOL_COLUMNS:
        if col in text:
            text[col] = text[col].map({"True": 1, "False": 0, None: None})
    return frame.indexed(frame.typed(text))

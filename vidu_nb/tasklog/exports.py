"""Exporting the task log's DataFrame to CSV and Parquet files (any ``to_frame`` filter)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .reads import Reads


class Exports(Reads):
    """File exports of the log (mixed into ``TaskLog``)."""

    def to_csv(self, path: str | os.PathLike[str], **filters: Any) -> Path:
        self.to_frame(**filters).to_csv(path, index=False)
        return Path(path)

    def to_parquet(self, path: str | os.PathLike[str], **filters: Any) -> Path:
        """Parquet export (needs pyarrow: ``pip install vidu-nb[parquet]``)."""
        self.to_frame(**filters).to_parquet(path, index=False)
        return Path(path)

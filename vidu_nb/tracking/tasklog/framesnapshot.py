"""The task log's typed frame saved as an Arrow file, so a new kernel's first ``log.df`` is a
memory-map instead of a read of every row.

The file (``frame.arrow`` in the log's cache folder) holds the frame exactly as ``to_frame()``
gives it (pandas keeps the dtypes in the file's metadata) and says which log it shows and up
to which change (``framecache``'s sequence mark); rows changed since are re-read from the log.
It is written for big logs only, after a full read or once enough rows changed since, in one
``os.replace`` (a reader never sees half a file). Deleting it is always safe: the next read
of the whole log writes it again. A file that does not match the log (another log at the same
path, another schema or pandas, a damaged file) is ignored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from . import frame

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("vidu_nb.tasklog")

NAME = "frame.arrow"
#: Logs smaller than this read fast enough from SQLite: no second copy on disk for them.
MIN_ROWS = 10_000
#: The file is written again once this many rows were re-read since it was written (each
#: fresh kernel re-reads them on top of the file).
STALE_ROWS = 2_000
_KEY = b"vidu_nb.frame"
_FORMAT = 1


class Snapshot(NamedTuple):
    frame: pd.DataFrame
    mark: int


def _meta(identity: str, schema: int, columns: list[str], mark: int) -> dict[str, Any]:
    import pandas as pd

    return {
        "format": _FORMAT,
        "pandas": pd.__version__,
        "identity": identity,
        "schema": schema,
        "columns": columns,
        "mark": mark,
    }


def load(cache_dir: Path, identity: str, schema: int, columns: list[str]) -> Snapshot | None:
    """The saved frame of this log (``identity``) at this schema, or None."""
    path = cache_dir / NAME
    if not identity or not frame.arrow_strings() or not path.is_file():
        return None
    import pyarrow as pa

    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path)))
        meta = json.loads((reader.schema.metadata or {})[_KEY])
        mark = int(meta["mark"])
        if meta != _meta(identity, schema, columns, mark):
            return None
        df = frame.indexed(reader.read_all().to_pandas())
    except (OSError, pa.ArrowException, KeyError, ValueError, TypeError) as exc:
        log.debug("ignoring frame snapshot %s: %s", path, exc)
        return None
    return Snapshot(df, mark)


def save(cache_dir: Path, df: pd.DataFrame, identity: str, schema: int, mark: int) -> bool:
    """Write ``df`` (the log's frame at ``mark``) atomically; False when it could not be."""
    import pyarrow as pa

    columns = [c for c in df.columns if c not in frame.DERIVED_COLUMNS]
    tmp = cache_dir / f".{NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        table = pa.Table.from_pandas(df, preserve_index=False).combine_chunks()
        meta = json.dumps(_meta(identity, schema, columns, mark)).encode()
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY: meta})
        cache_dir.mkdir(parents=True, exist_ok=True)
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, cache_dir / NAME)  # fails on Windows while another kernel maps it
        return True
    except (OSError, pa.ArrowException, TypeError, ValueError) as exc:
        log.debug("frame snapshot not written: %s", exc)
        tmp.unlink(missing_ok=True)
        return False

"""Patching a typed task frame with re-read rows, column by column, without copying it whole.

``framecache`` keeps ``TaskLog.df`` between reads as one array per column; when a few rows
changed it re-reads them and ``patched`` gives the new arrays. The re-read values are first
compared with the frame's, in Python (a handful of values: cheaper than any pandas call), so
only the columns that really changed are touched: a state change is a few columns, not fifty.
Each touched column is a new array (an array is never written, so a frame handed out earlier
stays as it was), built the cheapest way its kind allows: text kept in Arrow is re-sliced (the
unchanged text is shared, not copied), categories are re-coded (new labels keep the sorted
order a fresh read gives; labels no row uses any more are dropped), numbers and times are
copied and set.

The result must equal a fresh read of the whole log (the tests compare them); where that is
not certain (an unknown numeric column whose values changed: its dtype depends on every
value), ``Unpatchable`` sends the caller back to a full read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .frame import DERIVED_COLUMNS, derive, typed_column, utc_seconds
from .schema import BOOL_COLUMNS, TIME_COLUMNS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Text columns in Arrow are re-combined into one chunk past this many pieces (each patch
#: adds two), so reads stay fast after thousands of small changes.
MAX_CHUNKS = 64
#: The stored times the derived columns are computed from.
_DERIVED_FROM = ("submitted_at", "processing_at", "finished_at")


class Unpatchable(Exception):
    """The change cannot be applied column-wise with certainty: read the whole log again."""


def patched(
    arrays: dict[str, Any],
    columns: list[str],
    positions: np.ndarray,
    rows: Sequence[tuple[Any, ...]],
    appended: pd.DataFrame | None,
) -> dict[str, Any]:
    """The frame's ``arrays`` (by column) with the rows at ``positions`` replaced by the
    stored ``rows`` (in ``columns`` order, same order as ``positions``) and the typed frame
    ``appended`` added at the end."""
    stored = [c for c in arrays if c not in DERIVED_COLUMNS]
    # An empty frame's dtypes say nothing about the values to come: read them all.
    if not arrays or not len(next(iter(arrays.values()))) or stored != columns:
        raise Unpatchable("nothing to patch, or other columns")
    new = dict(arrays)
    if rows:
        values = dict(zip(columns, zip(*rows, strict=True), strict=True))
        times = _times({c: v for c, v in values.items() if c in TIME_COLUMNS})
        changed = []
        for col, raw in values.items():
            fresh = times.get(col)
            if not _unchanged(col, arrays[col], positions, raw, fresh):
                fresh = typed_column(col, raw) if fresh is None else fresh
                new[col] = patch_array(col, arrays[col], positions, fresh, None)
                changed.append(col)
        if set(changed) & set(_DERIVED_FROM) and set(DERIVED_COLUMNS) <= set(arrays):
            _derive(new, positions)
    if appended is not None:
        if list(appended.columns) != list(arrays):
            raise Unpatchable("the columns differ")
        for col in arrays:
            new[col] = patch_array(col, new[col], positions, None, appended[col].array)
    return new


def _times(values: dict[str, Sequence[Any]]) -> dict[str, Any]:
    """The time columns of the re-read rows converted in one call (as a full read does)."""
    if not values:
        return {}
    flat = [v for raw in values.values() for v in raw]
    try:
        every = utc_seconds([float("nan") if v is None else v for v in flat]).array
    except (TypeError, ValueError) as exc:  # a time stored as text by hand
        raise Unpatchable(str(exc)) from None
    k = len(flat) // len(values)
    return {col: every[i * k : (i + 1) * k] for i, col in enumerate(values)}


def _derive(arrays: dict[str, Any], positions: np.ndarray) -> None:
    """Recompute the derived timing columns of the changed rows (the same pandas code)."""
    import pandas as pd

    small = derive(pd.DataFrame({c: arrays[c].take(positions) for c in _DERIVED_FROM}))
    for col in DERIVED_COLUMNS:
        arrays[col] = patch_array(col, arrays[col], positions, small[col].array, None)


def _unchanged(col: str, arr: Any, positions: np.ndarray, raw: Sequence[Any], typed: Any) -> bool:
    """True when the frame already holds these stored values at ``positions``."""
    new = typed if typed is not None else raw
    flag = col in BOOL_COLUMNS
    for pos, value in zip(positions.tolist(), new, strict=True):
        if flag and value is not None:
            value = bool(value)
        if not _same(arr[pos], value):
            return False
    return True


def _same(x: Any, y: Any) -> bool:
    gone_x, gone_y = _missing(x), _missing(y)
    if gone_x or gone_y:
        return gone_x and gone_y
    try:
        return bool(x == y)
    except (TypeError, ValueError):  # values of another kind: not the same
        return False


def _missing(x: Any) -> bool:
    import pandas as pd

    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and x != x)


def patch_array(col: str, old: Any, positions: np.ndarray, new: Any, more: Any) -> Any:
    """A new array: ``old`` with ``new`` set at ``positions`` (``new`` None: unchanged) and
    ``more`` appended (None: nothing)."""
    import numpy as np
    import pandas as pd

    given = [a for a in (new, more) if a is not None]
    if isinstance(old.dtype, pd.CategoricalDtype):
        if not all(isinstance(a.dtype, pd.CategoricalDtype) for a in given):
            raise Unpatchable(f"{col}: category column with other values")
        return _categorical(old, positions, new, more)
    plain = (np.ndarray, pd.arrays.NumpyExtensionArray)
    if isinstance(old, plain):
        if not all(isinstance(a, plain) for a in given):
            raise Unpatchable(f"{col}: numbers with other values")
        return _numpy(col, np.asarray(old), positions, new, more)
    if any(a.dtype != old.dtype for a in given):
        raise Unpatchable(f"{col}: {old.dtype} cannot take {[str(a.dtype) for a in given]}")
    if isinstance(old, pd.arrays.ArrowStringArray):
        return _arrow_strings(old, positions, new, more)
    out = old.copy()
    if new is not None:
        out[positions] = new
    return out if more is None else type(out)._concat_same_type([out, more])


def _numpy(col: str, old: np.ndarray, positions: Any, new: Any, more: Any) -> Any:
    import numpy as np

    if new is not None:
        if col not in DERIVED_COLUMNS:  # int64 or float64 depends on every value of it
            raise Unpatchable(f"{col}: a numeric column of unknown kind changed")
        old = old.copy()
        old[positions] = np.asarray(new)
    # Appending int64 to float64 (or back) gives float64, as a fresh read of them all would.
    return old if more is None else np.concatenate([old, np.asarray(more)])


def _arrow_strings(old: Any, positions: Any, new: Any, more: Any) -> Any:
    """Arrow text re-sliced around the changed rows: O(changed rows), the text is shared."""
    import pandas as pd
    import pyarrow as pa

    base = old.__arrow_array__()  # the ChunkedArray itself (``pa.array`` would combine it)
    kind = base.type
    pieces: list[Any] = []
    if new is None:
        pieces.append(base)
    else:
        replacement = new.__arrow_array__().cast(kind)
        start = 0
        for i, pos in enumerate(positions.tolist()):
            pieces.append(base.slice(start, pos - start))
            pieces.append(replacement.slice(i, 1))
            start = pos + 1
        pieces.append(base.slice(start))
    if more is not None:
        pieces.append(more.__arrow_array__().cast(kind))
    chunks = [c for piece in pieces for c in piece.chunks if len(c)]
    result = pa.chunked_array(chunks, type=kind)
    if result.num_chunks > MAX_CHUNKS:
        result = pa.chunked_array([result.combine_chunks()], type=kind)
    return pd.arrays.ArrowStringArray(result)


def _categorical(old: Any, positions: Any, new: Any, more: Any) -> Any:
    """Codes re-mapped to the sorted union of the labels, unused labels dropped: the
    categories a fresh ``astype("category")`` of the whole column gives."""
    import numpy as np
    import pandas as pd

    labels = [*old.categories]
    for other in (new, more):
        labels += [] if other is None else list(other.categories)
    try:
        merged = sorted(set(labels))
    except TypeError:  # labels of mixed kinds: let a fresh read order them
        raise Unpatchable("unsortable categories") from None
    where = pd.Index(merged, dtype=object)
    codes = _recode(old, where)
    if new is not None:
        codes[positions] = _recode(new, where)
    if more is not None:
        codes = np.concatenate([codes, _recode(more, where)])
    used = np.bincount(codes[codes >= 0], minlength=len(merged)) > 0
    keep = [label for label, u in zip(merged, used, strict=True) if u]
    if len(keep) < len(merged):
        remap = np.cumsum(used) - 1
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    categories = pd.Index(keep) if keep else pd.Index([], dtype=object)
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))


def _recode(values: Any, where: pd.Index) -> np.ndarray:
    """``values``' codes in the categories ``where`` (-1 for missing), as int64."""
    import numpy as np

    codes = np.asarray(values.codes, dtype=np.int64)
    if not len(values.categories):
        return codes  # all missing: -1 everywhere
    mapping = where.get_indexer(values.categories).astype(np.int64)
    return np.where(codes >= 0, mapping[np.maximum(codes, 0)], -1)

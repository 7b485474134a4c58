"""JSON text fields (``meta_data``): the service wants a JSON-formatted string.

Text must parse as strict JSON (no ``NaN``), and a dict or list is written as compact JSON
text, so the body and the task log hold the very string that is sent. Refusing bad text here
names the field and where the JSON breaks, instead of a ``FieldInvalid`` after the upload.
"""

from __future__ import annotations

import json
import numbers
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError


def json_text(value: Any, name: str) -> str | None:
    """``value`` as JSON text (``None`` stays unset); ``ValidationError`` naming ``name``."""
    if value is None:
        return None
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return json.dumps(
                value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_scalar
            )
        except (TypeError, ValueError) as exc:
            raise ValidationError(name, value, f"cannot be written as JSON: {exc}") from None
    if not isinstance(value, str):
        raise ValidationError(name, value, "must be JSON text (str), a dict or a list")
    try:
        json.loads(value, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            name,
            value,
            f"must be JSON text: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f"(char {exc.pos})",
        ) from None
    except ValueError as exc:
        raise ValidationError(name, value, f"must be JSON text: {exc}") from None
    return str(value)


def _scalar(value: Any) -> Any:
    """numpy scalars inside a dict (a DataFrame's values) as plain numbers and bools."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")

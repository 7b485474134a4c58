"""Widgets that share their ``Layout`` and style objects: a saved notebook holds each once.

Every ipywidget otherwise creates its own ``Layout`` and style model, and the notebook saves
each (~1 KB of mostly empty fields): a form of 80 widgets cost 240 models and ~250 KB. With
``make(...)`` widgets of equal look point at one ``Layout``/style per kernel. Shared objects
must never be changed afterwards: a widget that changes its layout (say, to hide itself)
gets its own with ``layout=ipywidgets.Layout(...)``, or is hidden by a CSS class.
"""

from __future__ import annotations

from typing import Any, TypeVar

import ipywidgets as w

W = TypeVar("W", bound=w.Widget)

_CACHE: dict[tuple[Any, ...], w.Widget] = {}


def _shared(kind: type, **attrs: Any) -> Any:
    key = (kind, *sorted(attrs.items()))
    obj = _CACHE.get(key)
    if obj is None or obj.comm is None:  # none yet, or closed (``Widget.close_all``)
        obj = _CACHE[key] = kind(**attrs)
    return obj


def shared_layout(**attrs: Any) -> w.Layout:
    """The one ``Layout`` with these attributes (do not change it)."""
    return _shared(w.Layout, **attrs)


def make(
    cls: type[W],
    *args: Any,
    layout: w.Layout | dict[str, Any] | None = None,
    style: dict[str, Any] | None = None,
    **kwargs: Any,
) -> W:
    """``cls(*args, **kwargs)`` with a shared layout (``layout`` as a dict of attributes, or a
    ``Layout`` of its own) and a shared style of the class's kind (``style`` attributes)."""
    traits = cls.class_traits()
    if "layout" in traits:
        own = isinstance(layout, w.Layout)
        kwargs["layout"] = layout if own else shared_layout(**(layout or {}))
    if "style" in traits:
        kwargs["style"] = _shared(traits["style"].klass, **(style or {}))
    return cls(*args, **kwargs)


def hbox(children: list[w.Widget] | tuple[w.Widget, ...], cls: str | None = None) -> w.HBox:
    box = make(w.HBox, list(children))
    if cls:
        box.add_class(cls)
    return box


def vbox(children: list[w.Widget] | tuple[w.Widget, ...] = (), cls: str | None = None) -> w.VBox:
    box = make(w.VBox, list(children))
    if cls:
        box.add_class(cls)
    return box


def html(value: str = "", cls: str | None = None) -> w.HTML:
    out = make(w.HTML, value=value)
    if cls:
        out.add_class(cls)
    return out

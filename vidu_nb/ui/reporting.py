"""``report``: one self-contained HTML file of a comparison, to open offline in any browser.

A report is ``compare`` without Jupyter: the same grid (rows and columns by parameter, labels
naming what else varies), one shared play/pause/seek/loop control in plain JavaScript, under
each video its credits, time and state, a still of it, and its full parameters (the recipe
that is also written into the copied video's metadata and sidecar), and totals at the end.

Videos go next to the page (``videos="copy"``: ``report_files/`` with relative links), into
it (``"embed"``: ``data:`` URIs; one file, large), with it into one ``.zip``, or stay in the
team's S3 video store (``"store"``: presigned links that expire; one small file to send to
people without the store's credentials). Nothing here imports ipywidgets: the command line
writes reports too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import ValidationError
from ..request.sweep import SWEEP_FIELDS, label_for, varying_keys
from .grid_layout import arrange, client_of, views_of
from .report_cells import page_of
from .report_files import (
    EMBED_WARN_BYTES,
    MARKER,
    LargeReportWarning,
    gather,
    linker,
    place_folder,
    signing_store,
    store_links,
    write_text,
    write_zip,
)
from .report_page import render
from .rows import TaskView, esc, labels

__all__ = [
    "EMBED_WARN_BYTES", "MARKER", "VIDEO_MODES", "DownloadLink", "LargeReportWarning",
    "download_link", "report",
]  # fmt: skip

VIDEO_MODES = ("copy", "embed", "zip", "store")


def report(
    tasks: Any = None,
    path: str | os.PathLike[str] = "report.html",
    *,
    rows: str | None = None,
    cols: str | int | None = None,
    log: Any = None,
    client: Any = None,
    experiment: str | None = None,
    videos: str = "copy",
    title: str | None = None,
    store: Any = None,
    expires: int = 86400,
) -> Path:
    """Write a standalone HTML report of ``tasks``; returns the file written (``.html``, or
    the ``.zip`` with ``videos="zip"``).

    ``tasks`` is what ``compare`` takes (the log's DataFrame or a slice of it, a ``SweepRun``,
    task ids, rows, Tasks), or an experiment's name in ``log``; ``experiment=`` with ``log=``
    reports a whole experiment. ``rows``/``cols`` lay the grid out by parameter as in
    ``compare`` (a sweep: by its swept parameters). Videos not cached yet are downloaded (into
    the log's cache when there is a log; ``client`` refreshes expired URLs).

    ``videos``: ``"copy"`` (a ``<name>_files`` folder next to the page, linked relatively:
    keep them together), ``"embed"`` (everything inside the page; warns above 40 MB) or
    ``"zip"`` (the page and its folder in one ``.zip``, e.g. to download from Binder) or
    ``"store"`` (one page whose videos are presigned links into the shared S3 store, valid for
    ``expires`` seconds, at most 7 days; each video is uploaded first unless the store has it;
    ``store``: a ``VideoStore`` or its URL, else ``VIDU_VIDEO_STORE``).
    """
    if videos not in VIDEO_MODES:
        raise ValidationError("videos", videos, f"must be one of {', '.join(VIDEO_MODES)}")
    shared = signing_store(store, expires) if videos == "store" else None
    out = _out_path(path, videos)
    if title is not None and not isinstance(title, str):
        raise ValidationError("title", title, "must be a text")
    views, log, client, (rows, cols), default_title = _selection(
        tasks, log, client, experiment, rows, cols
    )
    if not views:
        raise ValidationError("tasks", _short(tasks, experiment), "nothing to report: no tasks")
    plan = arrange(views, rows, cols)
    texts = _labels(plan)
    out.parent.mkdir(parents=True, exist_ok=True)
    html_name = out.with_suffix(".html").name if videos == "zip" else out.name
    folder_name = Path(html_name).stem + "_files"
    staging = Path(tempfile.mkdtemp(prefix=f".{folder_name}.", dir=out.parent))
    try:
        files = gather(plan.cells, texts, staging, log, client)
        urls = store_links(files, shared, expires) if shared is not None else {}
        link = linker(folder_name, staging, videos, urls)
        page = page_of(plan, texts, files, link, title or default_title, rows, cols)
        text = render(page)
        if videos in ("embed", "store"):
            write_text(out, text)
        elif videos == "zip":
            write_zip(out, html_name, text, folder_name, staging)
        else:
            place_folder(staging, out.parent / folder_name)
            write_text(out, text)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


@dataclass(frozen=True)
class DownloadLink:
    """A link that downloads a file of the notebook's folder (a report's ``.zip``), for
    ``display``. JupyterLab, Notebook 7 and Binder open a plain link to a file inside the app
    (which cannot open a .zip); a link with the ``download`` attribute they leave to the
    browser, which fetches the file from the server: a download on Binder too."""

    path: str

    def href(self) -> str:
        path = Path(self.path)
        if path.is_absolute():  # links resolve against the notebook's folder (the kernel's)
            try:
                path = path.relative_to(Path.cwd())
            except ValueError:
                pass
        return quote(path.as_posix())

    def _repr_html_(self) -> str:
        name = Path(self.path).name
        if not Path(self.path).is_file():
            return f"<span>{esc(name)} is not there (yet)</span>"
        return f'<a href="{esc(self.href())}" download="{esc(name)}">Download {esc(name)}</a>'

    def __repr__(self) -> str:
        return str(self.path)


def download_link(path: str | os.PathLike[str]) -> DownloadLink:
    """``display(download_link(report(..., videos="zip")))`` offers the report as a download."""
    return DownloadLink(os.fspath(path))


def _out_path(path: Any, videos: str) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ValidationError("path", path, "must be a file name such as report.html")
    out = Path(path).expanduser()
    if out.is_dir():
        raise ValidationError(
            "path", str(path), "is a folder; give a file name such as report.html"
        )
    if videos == "zip":
        return out if out.suffix.lower() == ".zip" else out.with_suffix(".zip")
    if out.suffix.lower() == ".zip":
        raise ValidationError("path", str(path), 'a .zip is written with videos="zip"')
    return out


def _short(tasks: Any, experiment: str | None) -> Any:
    if experiment is not None:
        return f"experiment={experiment!r}"
    return f"{type(tasks).__name__} of {len(tasks)}" if hasattr(tasks, "__len__") else tasks


def _selection(
    tasks: Any,
    log: Any,
    client: Any,
    experiment: str | None,
    rows: str | None,
    cols: str | int | None,
) -> tuple[list[TaskView], Any, Any, tuple[str | None, str | int | None], str]:
    """The task views, the log and client to fetch with, the layout and a default title."""
    if experiment is not None:
        if tasks is not None:
            raise ValidationError("experiment", experiment, "give tasks or experiment=, not both")
        if log is None:
            raise ValidationError("log", None, "experiment= is looked up in a task log: give log=")
        tasks = log.to_frame(experiment=experiment)
    elif isinstance(tasks, str) and log is not None and log.get(tasks) is None:
        frame = log.to_frame(experiment=tasks)  # a name, not a task id the log holds
        tasks = frame if len(frame) else tasks
    if tasks is None:
        raise ValidationError("tasks", None, "give the tasks to report, or experiment= and log=")
    session = getattr(tasks, "session", None)
    if session is not None and hasattr(tasks, "task_views"):  # a SweepRun
        log = log if log is not None else session.log
        client = client if client is not None else session.client
        varying = list(tasks.plan.varying)
        if rows is None and cols is None and varying:
            rows, cols = varying[0], (varying[1] if len(varying) > 1 else None)
        return list(tasks.task_views()), log, client, (rows, cols), str(tasks.experiment)
    views = views_of(tasks, log)
    if rows is None and cols is None:
        varying = varying_keys([v.row for v in views], SWEEP_FIELDS)
        if varying:
            rows, cols = varying[0], (varying[1] if len(varying) > 1 else None)
    if client is None:
        client = client_of(tasks)
    names = sorted({str(v.get("experiment")) for v in views if v.get("experiment")})
    title = names[0] if len(names) == 1 else "vidu-nb comparison"
    return views, log, client, (rows, cols), title


def _labels(plan: Any) -> list[str]:
    """Each cell's label, naming what varies and the headers do not (as ``compare``)."""
    present = [v for v in plan.cells if v is not None]
    keys = [k for k in labels(present)[0] if k not in plan.in_headers]
    out = []
    for view in plan.cells:
        text = label_for(view.row, keys) if view is not None and keys else ""
        if view is not None and not text and not plan.in_headers:
            text = view.task_id
        out.append(text)
    return out

"""``report``: one self-contained HTML file of a comparison, to open offline in any browser.

A report is ``compare`` without Jupyter: the same grid (rows and columns by parameter, labels
naming what else varies), one shared play/pause/seek/loop control in plain JavaScript, under
each video its credits, time and state, a still of it, and its full parameters (the recipe
that is also written into the copied video's metadata and sidecar), and totals at the end.

Videos go next to the page (``videos="copy"``: ``report_files/`` with relative links), into
it (``"embed"``: ``data:`` URIs; one file, large), or with it into one ``.zip``. Nothing here
imports ipywidgets: the command line writes reports too.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import states
from ..cache import DownloadError, VideoCache, safe_name
from ..errors import ValidationError, ViduError
from ..recipe import RecipeError, json_value, recipe_of, tag_video, write_sidecar
from ..stills import POSTER_MAX_BYTES, poster_jpeg, sheet_jpeg, video_strip
from ..sweep import SWEEP_FIELDS, label_for, varying_keys
from ..task import Creation, Task
from .grid_layout import arrange, client_of, header, views_of
from .report_page import Cell, Page, render
from .rows import TaskView, epoch_of, esc, fmt_seconds, labels
from .sources import source_of

_logger = logging.getLogger(__name__)

VIDEO_MODES = ("copy", "embed", "zip")
#: Above this many bytes of embedded media a report warns (browsers slow down, mail refuses).
EMBED_WARN_BYTES = 40 * 2**20
#: Written into a report's files folder: only a folder holding it is ever replaced.
MARKER = ".vidu-report"
_MIME = {".mp4": "video/mp4", ".webm": "video/webm", ".jpg": "image/jpeg", ".png": "image/png"}
_MIME.update({".jpeg": "image/jpeg", ".webp": "image/webp"})
#: JPEG bytes a report's contact sheet may take (a page is not a saved notebook: sharper).
SHEET_BYTES = 48_000


class LargeReportWarning(UserWarning):
    """An embedded report is large: ``videos="copy"`` or ``"zip"`` keeps the page small."""


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
    ``"zip"`` (the page and its folder in one ``.zip``, e.g. to download from Binder).
    """
    if videos not in VIDEO_MODES:
        raise ValidationError("videos", videos, f"must be one of {', '.join(VIDEO_MODES)}")
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
        files = _gather(plan.cells, texts, staging, log, client)
        link = _linker(folder_name, staging, videos)
        page = _page(plan, texts, files, link, title or default_title, rows)
        text = render(page)
        if videos == "embed":
            _write_text(out, text)
        elif videos == "zip":
            _write_zip(out, html_name, text, folder_name, staging)
        else:
            _place_folder(staging, out.parent / folder_name)
            _write_text(out, text)
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


@dataclass
class Files:
    """One cell's files in the staging folder (``None`` where there is none)."""

    video: Path | None = None
    poster: Path | None = None
    sheet: Path | None = None
    note: str = ""
    source: Path | None = None  # the video copied (in the cache), for its stills


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


def _gather(
    cells: Sequence[TaskView | None], texts: list[str], staging: Path, log: Any, client: Any
) -> list[Files | None]:
    """Copy (downloading when needed) each cell's video with its recipe, cover and sheet."""
    out: list[Files | None] = []
    used: set[str] = set()
    for view, text in zip(cells, texts, strict=True):
        if view is None:
            out.append(None)
            continue
        stem = safe_name(view.task_id or "task")
        while stem in used:
            stem += "-x"
        used.add(stem)
        found = _files_for(view, stem, staging, log, client)
        if found.source is not None:
            _stills(found, view, text, staging / stem)
        out.append(found)
    return out


def _files_for(view: TaskView, stem: str, staging: Path, log: Any, client: Any) -> Files:
    if not states.is_success(view.state):
        return Files()
    try:
        source = _local_video(view, staging, log, client)
    except (ViduError, OSError) as exc:
        warnings.warn(f"task {view.task_id}: no video for the report: {exc}", stacklevel=4)
        return Files(note="video unavailable")
    files = Files()
    recipe = recipe_of(view.row)
    target = staging / f"{stem}{source.suffix.lower() or '.mp4'}"
    try:
        tag_video(source, recipe, target)
    except RecipeError as exc:  # not an MP4: copied as it is, the sidecar says how it was made
        _logger.info("%s", exc)
        shutil.copyfile(source, target)
        write_sidecar(target, recipe)
    files.video, files.source = target, source
    cover = source_of(view).path("cover")
    if cover:
        files.poster = staging / f"{stem}-cover{Path(cover).suffix.lower() or '.jpg'}"
        shutil.copyfile(cover, files.poster)
    return files


def _stills(files: Files, view: TaskView, text: str, stem: Path) -> None:
    """The contact sheet (frames through the video, with its label and figures under them),
    and a poster frame when the service gave no cover. The frames are decoded once per video
    and kept beside it in the cache (``stills``), so a report written again is quick."""
    assert files.source is not None
    strip = video_strip(files.source)
    if strip is None:
        return
    files.sheet = stem.with_name(stem.name + "-sheet.jpg")
    files.sheet.write_bytes(sheet_jpeg(strip, [text or view.task_id, _meta(view)], SHEET_BYTES))
    if files.poster is None:
        files.poster = stem.with_name(stem.name + "-poster.jpg")
        files.poster.write_bytes(poster_jpeg(strip, 4 * POSTER_MAX_BYTES))


def _local_video(view: TaskView, staging: Path, log: Any, client: Any) -> Path:
    """The task's video as a local file: the cached one, or downloaded now."""
    src = source_of(view)
    cached = src.path("video")
    if cached:
        return Path(cached)
    if not src.video_url and client is None:
        raise DownloadError(view.task_id, "video", "not cached and no URL")
    creation = Creation(url=src.video_url or "", cover_url=src.cover_url or "")
    task = Task(view.task_id, view.state, creations=(creation,))
    in_log = log is not None and log.get(view.task_id) is not None
    cache = VideoCache(log.cache_dir if in_log else staging / ".downloads")
    try:
        video, cover = cache.fetch(
            task, client, on_refresh=log.update if in_log else None, recipe=recipe_of(view.row)
        )
    finally:
        cache.close()
    if in_log:
        log.set_files(view.task_id, video, cover)
    view.row.update(video_path=str(video), cover_path=str(cover) if cover else None)
    return video


def _linker(folder: str, staging: Path, videos: str) -> Any:
    """How the page refers to a staged file: a relative link, or a data: URI."""
    sizes = {"total": 0}

    def link(path: Path | None) -> str | None:
        if path is None:
            return None
        if videos != "embed":
            return quote(f"{folder}/{path.name}")
        data = path.read_bytes()
        sizes["total"] += len(data)
        if sizes["total"] > EMBED_WARN_BYTES >= sizes["total"] - len(data):
            warnings.warn(
                f"the embedded report holds more than {EMBED_WARN_BYTES // 2**20} MB of media; "
                'browsers open it slowly: videos="copy" or "zip" keep the page small',
                LargeReportWarning,
                stacklevel=4,
            )
        mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    return link


def _page(
    plan: Any, texts: list[str], files: list[Files | None], link: Any, title: str, rows: Any
) -> Page:
    present = [v for v in plan.cells if v is not None]
    cells: list[Cell | None] = []
    for view, text, found in zip(plan.cells, texts, files, strict=True):
        if view is None or found is None:
            cells.append(None)
            continue
        cells.append(
            Cell(
                task_id=view.task_id,
                state=view.state,
                label=text,
                meta=_meta(view),
                note=found.note or _why_no_video(view),
                video=link(found.video),
                poster=link(found.poster),
                sheet=link(found.sheet),
                params=_params(view),
                recipe=recipe_of(view.row),
            )
        )
    head, totals = _totals(present, rows)
    return Page(
        title=title,
        subtitle=_subtitle(present),
        cols=plan.cols,
        cells=cells,
        row_titles=plan.row_titles,
        col_titles=plan.col_titles,
        totals_head=head,
        totals=totals,
    )


def _meta(view: TaskView) -> str:
    parts = [view.state, view.credits_text()]
    parts.append(f"generated in {fmt_seconds(view.generation_seconds())}")
    if view.get("seed") is not None:
        parts.append(view.seed_text())
    return " \u00b7 ".join(parts)


def _why_no_video(view: TaskView) -> str:
    if states.is_failed(view.state):
        return f"failed: {view.get('err_code', '')} {view.get('error', '')}".strip()
    if not states.is_success(view.state):
        return view.state
    return ""


#: Beyond the recipe, what the parameters table of a cell shows.
_MORE = ("state", "err_code", "error", "submitted_at", "processing_at")


def _params(view: TaskView) -> list[tuple[str, str]]:
    """The recipe (as written into the video) and how the task went, for the table."""
    values = recipe_of(view.row)
    for name in _MORE:
        value = json_value(view.get(name))
        if value not in (None, ""):
            values[name] = value
    seconds = view.generation_seconds()
    if seconds is not None:
        values["generation_time"] = fmt_seconds(seconds)
    traces = view.get("trace_ids")  # a list in a log row, "a,b" in the DataFrame
    if traces:
        values["trace_ids"] = traces.split(",") if isinstance(traces, str) else list(traces)
    return [(k, _text(v)) for k, v in values.items()]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def _subtitle(views: list[TaskView]) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from .. import __version__

    text = f"{len(views)} task{'s' if len(views) != 1 else ''}"
    starts = [t for v in views if (t := epoch_of(v.get("submitted_at"))) is not None]
    ends = [t for v in views if (t := epoch_of(v.get("finished_at"))) is not None]
    if starts and ends:
        text += f", {fmt_seconds(max(0.0, max(ends) - min(starts)))} from first sent to last done"
    return f"{text} \u00b7 written {when} by vidu-nb {__version__}"


TOTALS_HEAD = (
    "", "tasks", "succeeded", "failed", "other", "credits", "video seconds", "credits per s",
    "generation time", "per task",
)  # fmt: skip


def _totals(views: list[TaskView], rows: str | None) -> tuple[Sequence[str], list[list[str]]]:
    """One line per row of the grid (when rows name a parameter) and one for all tasks.

    Credits are what succeeded tasks were charged: failed and cancelled ones are refunded."""
    groups: dict[str, list[TaskView]] = {}
    if rows:
        for view in views:
            groups.setdefault(header(rows, view.get(rows)), []).append(view)
    lines = [_total_line(name, members) for name, members in groups.items()]
    if len(groups) != 1:
        lines.append(_total_line("all", views))
    return TOTALS_HEAD, lines


def _total_line(name: str, views: list[TaskView]) -> list[str]:
    ok = [v for v in views if states.is_success(v.state)]
    failed = sum(1 for v in views if states.is_failed(v.state))
    credits = sum(int(v.get("credits") or 0) for v in ok)
    seconds = sum(int(v.get("duration") or 0) for v in ok)
    times = [t for v in views if (t := v.generation_seconds()) is not None]
    per = f"{credits / seconds:.1f}" if seconds else "\u2014"
    mean = fmt_seconds(sum(times) / len(times)) if times else "\u2014"
    return [
        name, str(len(views)), str(len(ok)), str(failed), str(len(views) - len(ok) - failed),
        f"{credits:,}", str(seconds), per, fmt_seconds(sum(times)) if times else "\u2014", mean,
    ]  # fmt: skip


def _write_text(path: Path, text: str) -> None:
    """The page, whole or not at all."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _place_folder(staging: Path, folder: Path) -> None:
    """Put the staged files where the page links them, replacing an earlier report's folder
    (one holding ``MARKER``) but never a folder of anything else."""
    if folder.exists() and not (folder / MARKER).is_file():
        raise ValidationError(
            "path",
            str(folder),
            "this folder exists and is not a report's: move it or rename the report",
        )
    (staging / MARKER).write_text("files of a vidu-nb report; rewritten with it\n")
    for leftover in staging.glob(".*"):
        if leftover.name != MARKER and leftover.is_dir():
            shutil.rmtree(leftover)
    os.chmod(staging, 0o755)
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(staging, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_zip(path: Path, html_name: str, text: str, folder: str, staging: Path) -> None:
    """The page and its files in one archive (videos stored, already compressed)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(html_name, text)
            for item in sorted(staging.iterdir()):
                if item.is_file():
                    packed = item.suffix.lower() in (".json", ".html")
                    zf.write(
                        item, f"{folder}/{item.name}",
                        compress_type=zipfile.ZIP_DEFLATED if packed else zipfile.ZIP_STORED,
                    )  # fmt: skip
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

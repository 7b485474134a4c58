"""``TaskLog``'s public face does not move: every name a notebook, the poller or the UI uses keeps
its kind (method or property) and its parameters, whatever the log is built from inside."""

from __future__ import annotations

import inspect
from pathlib import Path

from vidu_nb.tracking.tasklog import TaskLog

#: Every public name of ``TaskLog`` before it became a facade over parts, with its parameters
#: (``None``: a property), written down from that class.
PUBLIC = {
    "back_to_queue": "client_ref, owner, error",
    "cache_dir": None,
    "cancel_queued": "client_ref, owner=None",
    "charged_credits": "",
    "charged_since": "mark, most=500",
    "close": "",
    "df": None,
    "events": "task_id=None",
    "find_uncertain": "client, client_ref, *, window=600.0, skew=120.0",
    "get": "task_id",
    "get_by_ref": "client_ref",
    "integrity_check": "",
    "judgment": "task",
    "judgments": None,
    "missing_files": "",
    "note_error": "task_id, error",
    "owners_dir": None,
    "pending": "",
    "rankings": "by=None, *, prior=1.0",
    "rate": "task, stars=None, pick=None, note=None, *, clear=()",
    "rebuild_request": "row",
    "recent_seeds": "limit=30",
    "reconcile": "client_ref, task_or_id, client=None",
    "reconcile_from_callback": "body",
    "record_queued": (
        "request, client_ref, *, owner, experiment=None, tags=(), notes='', base_url=None,"
        " parent_row_id=None, lease=60.0"
    ),
    "record_queued_many": (
        "requests, *, owner, experiment=None, tags=(), notes='', base_url=None, parent_row_id=None,"
        " lease=60.0"
    ),
    "record_submission": (
        "request, task, *, experiment=None, tags=(), notes='', client_ref=None, base_url=None,"
        " parent=None"
    ),
    "record_uncertain": (
        "request, client_ref, error, *, experiment=None, tags=(), notes='', state='uncertain',"
        " err_code='', base_url=None"
    ),
    "searchable": "",
    "set_files": "task_id, video_path, cover_path=None",
    "set_state": "task_id, state, detail=''",
    "start_sending": "client_ref, owner, *, limit=None, lease=60.0",
    "states_present": "",
    "sync": "client, since=None, until=None",
    "tag": "task_id, tags=None, notes=None",
    "take_over": "owner, lease=60.0",
    "to_csv": "path, **filters",
    "to_frame": (
        "experiment=None, state=None, model=None, since=None, until=None, tag=None, user=None, *,"
        " columns=None"
    ),
    "to_parquet": "path, **filters",
    "uncertain": "",
    "unsent": "",
    "unvote": "vote_id",
    "update": "task, *, error=None",
    "version": None,
    "vote": "a, b, winner=None, *, note=None, voter=None",
    "votes": "",
}
#: Names added since, on purpose.
ADDED = {
    "timing_history": "base_url=None, *, limit=5000",  # the SQL the timing learned from
    # measures of the cached videos (``measured.Measured``)
    "measure": "task, *, again=False",
    "measures": "task",
    "set_measures": "task_id, measures",
    "unmeasured": "",
    # a log shared by a team: leases (``leases.Leases``) and other kernels' changes
    "renew_leases": "owner, lease=60.0",
    "release_leases": "owner",
    "free_rows": "owner, among=None",
    "claim": "rows, owner, lease=60.0",
    "holders": "",
    "in_flight": "",
    "changed_since": "mark, most=5000",
    "owner_locks": None,  # a team's log: pollers' owner locks held on the server
}


def parameters(fn: object) -> str:
    """A method's parameters after ``self`` as written in ``PUBLIC`` (no annotations)."""
    out: list[str] = []
    star = False
    for p in list(inspect.signature(fn).parameters.values())[1:]:  # type: ignore[arg-type]
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.default is not p.empty:
            text += f"={p.default!r}"
        if p.kind == p.KEYWORD_ONLY and not star:
            out.append("*")
            star = True
        out.append(text)
    return ", ".join(out)


def test_the_public_names_are_the_same():
    names = {n for n in dir(TaskLog) if not n.startswith("_")}
    assert names == set(PUBLIC) | set(ADDED)


def test_every_public_name_keeps_its_kind_and_parameters():
    for name, params in {**PUBLIC, **ADDED}.items():
        found = inspect.getattr_static(TaskLog, name)
        if params is None:
            assert isinstance(found, property), name
        else:
            assert callable(getattr(TaskLog, name)), name
            assert parameters(getattr(TaskLog, name)) == params, name


def test_the_log_is_still_opened_by_its_path_and_says_where_it_is(tmp_path):
    with TaskLog(tmp_path / "runs.sqlite") as log:
        assert log.path == tmp_path / "runs.sqlite" and isinstance(log.path, Path)
        assert log.cache_dir == tmp_path / "runs_cache"
        assert log.owners_dir == log.cache_dir / "owners"
        assert repr(log) == f"TaskLog({str(log.path)!r})"
        assert len(log) == 0 and log.integrity_check() == "ok"
        assert log.df.empty and log.pending() == []

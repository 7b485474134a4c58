"""``Task``: what the service says about one generation, as a typed object.

Built from the submit response (``task_id``) or the query response (``id``); both shapes map
onto the same fields. A task returned by a client remembers it, so ``client.submit(req).wait()``
reads like English; the client reference is excluded from repr and comparison. The task knows
that client only as a ``TaskClient`` (what ``refresh``, ``wait`` and ``cancel`` ask of it), not
as ``ViduClient``: the client builds tasks and imports this module, so this module must not
import the client back.

``state`` is kept exactly as the service sent it, also when it is not a documented state
(``scheduled``, ``preparation``, ``canceled``, ...); what it means is asked of ``states``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from .. import states
from ..errors import ViduError
from ..states import FINAL_STATES, LOCAL_STATES
from ..states import SERVICE_STATES as STATES
from .times import parse_time

# Re-exported for code that imported them from here before ``states`` existed.
__all__ = ["FINAL_STATES", "LOCAL_STATES", "STATES", "Creation", "Task", "TaskClient"]


class TaskClient(Protocol):
    """What a bound ``Task`` asks of its client (``ViduClient`` is one): its latest view, a
    blocking wait, a cancel. Its own methods only hand themselves over to these."""

    def get(self, task_or_id: Task, /) -> Task: ...

    def wait(
        self,
        task_or_id: Task,
        /,
        timeout: float | None = ...,
        on_update: Callable[[Task], None] | None = ...,
        *,
        cancel_on_timeout: bool = ...,
        raise_on_failure: bool = ...,
    ) -> Task: ...

    def cancel(self, task_or_id: str, /) -> None: ...


@dataclass(frozen=True)
class Creation:
    id: str = ""
    url: str = ""
    cover_url: str = ""
    watermarked_url: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Creation:
        return cls(
            id=str(data.get("id") or ""),
            url=str(data.get("url") or ""),
            cover_url=str(data.get("cover_url") or ""),
            watermarked_url=str(data.get("watermarked_url") or ""),
        )


@dataclass(frozen=True)
class Task:
    """One generation task. ``request`` is the service's echo of the submitted fields."""

    id: str
    state: str = "created"
    credits: int | None = None
    err_code: str = ""
    creations: tuple[Creation, ...] = ()
    seed: int | None = None
    model: str = ""
    created_at: datetime | None = None
    payload: str = ""
    off_peak: bool | None = None
    request: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    trace_ids: tuple[str, ...] = field(default=(), compare=False)
    _client: TaskClient | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_response(
        cls, data: dict[str, Any], *, trace_id: str = "", previous: Task | None = None
    ) -> Task:
        """Merge a submit or query response into a task (query responses echo less)."""
        task_id = str(data.get("task_id") or data.get("id") or (previous.id if previous else ""))
        echo = dict(previous.request) if previous else {}
        for key, value in data.items():
            if key not in ("task_id", "id", "state", "credits", "err_code", "creations"):
                echo[key] = value
        echo.pop("images", None)  # base64 image data is large and never needed back
        raw = data.get("creations")
        items = raw if isinstance(raw, list) else []  # null, {} or a stray string: none yet
        creations = tuple(Creation.from_dict(c) for c in items if isinstance(c, dict))
        if not creations and previous:
            creations = previous.creations
        traces = previous.trace_ids if previous else ()
        if trace_id and trace_id not in traces:
            traces = (*traces, trace_id)
        return cls(
            id=task_id,
            state=str(data.get("state") or (previous.state if previous else "created")),
            credits=_int_or(data.get("credits"), previous.credits if previous else None),
            err_code=str(data.get("err_code") or ""),
            creations=creations,
            seed=_int_or(data.get("seed"), previous.seed if previous else None),
            model=str(data.get("model") or (previous.model if previous else "")),
            created_at=parse_time(data.get("created_at"))
            or (previous.created_at if previous else None),
            payload=str(data.get("payload") or (previous.payload if previous else "")),
            off_peak=_bool_or(data.get("off_peak"), previous.off_peak if previous else None),
            request=echo,
            trace_ids=traces,
            _client=previous._client if previous else None,
        )

    # -- convenience ---------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Nothing more will happen: success, failed or cancelled (any spelling)."""
        return states.is_final(self.state)

    @property
    def succeeded(self) -> bool:
        return states.is_success(self.state)

    @property
    def failed(self) -> bool:
        return states.is_failed(self.state)

    @property
    def cancelled(self) -> bool:
        return states.is_cancelled(self.state)

    @property
    def video_url(self) -> str:
        return self.creations[0].url if self.creations else ""

    @property
    def cover_url(self) -> str:
        return self.creations[0].cover_url if self.creations else ""

    @property
    def trace_id(self) -> str:
        return self.trace_ids[-1] if self.trace_ids else ""

    def bind(self, client: TaskClient) -> Task:
        return replace(self, _client=client)

    def __getstate__(self) -> dict[str, Any]:
        # A pickle (or deep copy) holds the task without its client, which holds the key and
        # refuses to be pickled: so a TaskFailed from ``wait`` pickles too.
        return {**self.__dict__, "_client": None}

    def _need_client(self) -> TaskClient:
        if self._client is None:
            raise ViduError("this Task is not bound to a client; use client.wait(task)")
        return self._client

    def refresh(self) -> Task:
        """The task's latest state from the service."""
        return self._need_client().get(self)

    def wait(
        self,
        timeout: float | None = 600.0,
        on_update: Callable[[Task], None] | None = None,
        *,
        cancel_on_timeout: bool = False,
        raise_on_failure: bool = True,
    ) -> Task:
        """Block until the task succeeds or fails (see ``ViduClient.wait``)."""
        return self._need_client().wait(
            self,
            timeout=timeout,
            on_update=on_update,
            cancel_on_timeout=cancel_on_timeout,
            raise_on_failure=raise_on_failure,
        )

    def cancel(self) -> None:
        self._need_client().cancel(self.id)


def _int_or(value: Any, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _bool_or(value: Any, default: bool | None) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default

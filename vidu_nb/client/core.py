"""``ViduClient``: submit generations, check them, cancel them, and wait for them.

With no key and no base URL it talks to the default server (``config.default_server``: the
embedded local simulator, installed by the workspace layer), so a notebook works out of the box
and nothing is charged. Every task it returns is bound to it,
so ``client.submit(req).wait()`` works. Waiting follows ``PollSchedule``: a first check within
seconds, then backing off; it rides out transient errors until its own timeout. The client
learns how long processing takes from the tasks it waits on (``client.timing``, in memory),
so later waits check densely only around the predicted finish. A loopback simulator started
elsewhere (``vidu-nb lab``, Binder) is polled at its pace when ``VIDU_SIM_SPEED`` says it.

The account endpoints are here too: ``credits()`` (balance, concurrency, queue) and
``list_tasks()`` (a lazy walk over the service's task list). Every public method checks its
arguments before anything is sent, and names the bad one in a ``ValidationError``.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from ..errors import (
    APIError,
    ConnectionFailed,
    RateLimited,
    ServerError,
    TaskFailed,
    ValidationError,
    ViduError,
    WaitTimeout,
)
from ..request.spec import ImageFittedWarning
from . import account
from .account import Credits, When
from .answers import cancel_answer, object_answer, task_answer
from .config import ClientConfig, Secret, Server, default_server
from .schedule import PollSchedule
from .task import Task
from .timing import Timing, Watch, task_key
from .transport import RetryPolicy, Transport, uncertain_submit

log = logging.getLogger("vidu_nb.client")

TASK_PATH = "/ent/v2/tasks/{id}/creations"
CANCEL_PATH = "/ent/v2/tasks/{id}/cancel"
CLIENT_REF_PREFIX = "vidu-nb:"
_TRANSIENT = (ConnectionFailed, ServerError, RateLimited)


class Submittable(Protocol):
    """A generation request: ``Img2VideoRequest`` and, later, the other endpoints."""

    @property
    def endpoint(self) -> str: ...  # the path it is POSTed to

    @property
    def payload(self) -> str | None: ...

    def fitted_body(
        self, *, default_payload: str | None = None
    ) -> tuple[dict[str, Any], str | None]: ...


class TaskReader(Protocol):
    """Fetches a task's current view (``ViduClient`` is one): enough to refresh an expired
    URL or to check a task id before reconciling."""

    def get(self, task_or_id: Task | str) -> Task: ...


class TaskService(TaskReader, Protocol):
    """What a poller needs of a client (``ViduClient`` is one): submit, then fetch."""

    def submit(self, request: Submittable, *, client_ref: str | None = None) -> Task: ...


@runtime_checkable
class AccountReader(Protocol):
    """Reads the account (``ViduClient`` is one): balance and concurrency, and the service's
    task list. Code that can do without them checks ``isinstance(client, AccountReader)``."""

    def credits(self, detail: bool = False) -> Credits: ...

    def list_tasks(
        self,
        *,
        since: When | None = None,
        until: When | None = None,
        states: Any = None,
        task_ids: Any = None,
        model_versions: Any = None,
        resolutions: Any = None,
        page_size: int = 100,
    ) -> Iterator[Task]: ...


def new_client_ref() -> str:
    """A unique reference put in ``payload`` so an uncertain submit can be found later."""
    return f"{CLIENT_REF_PREFIX}{uuid.uuid4()}"


class ViduClient:
    """Client of the Vidu generation API (or of a simulator standing in for it)."""

    def __init__(
        self,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        auth_scheme: str | None = None,
        *,
        timeout: float | tuple[float, float] = (5, 60),
        max_retries: int = 4,
        schedule: PollSchedule | None = None,
        timing: Timing | None = None,
    ) -> None:
        config = ClientConfig.resolve(api_key, base_url, auth_scheme)
        if config.embedded:
            server = default_server()
            config = config.with_server(server.base_url, server.api_key)
            if schedule is None:
                schedule = PollSchedule.for_speed(server.speed)
        elif schedule is None and config.sim_speed is not None:  # a simulator started elsewhere
            schedule = PollSchedule.for_speed(config.sim_speed)
        assert config.api_key is not None
        if max_retries < 0:
            raise ValidationError("max_retries", max_retries, "must be >= 0")
        self.config = config
        self.schedule = schedule or PollSchedule()
        #: Processing times learned from the tasks this client waited on (see ``Timing``).
        self.timing = timing if timing is not None else Timing()
        self._transport = Transport(
            config.base_url,
            config.api_key,
            config.auth_scheme,
            timeout=timeout,
            retry=RetryPolicy(max_retries=max_retries),
        )

    @classmethod
    def for_simulator(cls, sim: Server, **kwargs: Any) -> ViduClient:
        """A client for a running ``Simulator``, polling at the simulator's speed."""
        kwargs.setdefault("schedule", PollSchedule.for_speed(getattr(sim, "speed", 1.0) or 1.0))
        return cls(sim.api_key, sim.base_url, **kwargs)

    @classmethod
    def simulated(cls, **kwargs: Any) -> ViduClient:
        """A client for the default server (the embedded simulator), even when a key is set."""
        return cls.for_simulator(default_server(), **kwargs)

    # -- description ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def auth_scheme(self) -> str:
        return self.config.auth_scheme

    @property
    def is_simulated(self) -> bool:
        """True for the embedded simulator or any loopback server (nothing is charged)."""
        return self.config.embedded or self.config.is_loopback

    @property
    def requests_sent(self) -> int:
        """HTTP requests this client has sent so far, retries included."""
        return self._transport.requests_sent

    def __repr__(self) -> str:
        sim = ", simulated" if self.is_simulated else ""
        return f"ViduClient({self.base_url!r}, auth_scheme={self.auth_scheme!r}{sim})"

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ViduClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- API calls -----------------------------------------------------------------------
    def submit(self, request: Submittable, *, client_ref: str | None = None) -> Task:
        """Send one generation request; the returned task is bound to this client.

        When the request has no ``payload`` a client reference (``vidu-nb:<uuid>``, or
        ``client_ref``) is put there, so that if the outcome is uncertain
        (``SubmissionUncertain``) the task can still be recognised. The submit is never sent
        twice when the first attempt may have arrived.
        """
        _check_request(request)
        if client_ref is not None and (not isinstance(client_ref, str) or not client_ref.strip()):
            raise ValidationError("client_ref", client_ref, "must be a non-empty string or None")
        # The reference goes in before the image is sized, so the body still fits 20 MB.
        body, note = request.fitted_body(default_payload=client_ref or new_client_ref())
        if note:
            log.info("start image fitted: %s", note)
            warnings.warn(note, ImageFittedWarning, stacklevel=2)
        ref = client_ref or str(body["payload"])
        resp = self._transport.post(request.endpoint, body, client_ref=ref)
        try:
            data = task_answer(resp, "submit")
        except ServerError as exc:  # a 5xx inside a 200: as uncertain as a real 5xx
            raise uncertain_submit(request.endpoint, ref, exc) from exc
        task = Task.from_response(data, trace_id=resp.trace_id)
        if not task.id:
            raise APIError(
                resp.status, "InvalidResponse", "submit answer has no task_id", resp.trace_id
            )
        if not task.payload:
            task = replace(task, payload=str(body["payload"]))
        log.info("submitted task %s (trace_id=%s, ref=%s)", task.id, resp.trace_id, ref)
        return task.bind(self)

    def get(self, task_or_id: Task | str) -> Task:
        """The task's current state (GET, retried on transient errors)."""
        return self._get(task_or_id)

    def _get(self, task_or_id: Task | str, deadline: float | None = None) -> Task:
        # An answer without ``id`` still belongs to the task asked for.
        previous = task_or_id if isinstance(task_or_id, Task) else Task(id=_plain_id(task_or_id))
        path = TASK_PATH.format(id=_task_id(task_or_id))
        resp = self._transport.get(path, deadline=deadline)
        data = task_answer(resp, "query")
        return Task.from_response(data, trace_id=resp.trace_id, previous=previous).bind(self)

    def cancel(self, task_or_id: Task | str) -> None:
        """Ask the service to cancel a task (documented for off-peak tasks only).

        The id goes in the path and, as documented, in the body (``{"id": ...}``). Success is
        an empty answer, ``{}`` or ``null``; a task that cannot be cancelled any more raises
        ``BadRequest`` ("task state is ... can not cancel") with the service's trace id.
        """
        task_id = _plain_id(task_or_id)
        path = CANCEL_PATH.format(id=_task_id(task_id))
        resp = self._transport.post(path, {"id": task_id}, submit=False, allow_null=True)
        cancel_answer(resp)
        log.info("cancel requested for task %s (trace_id=%s)", task_id, resp.trace_id)

    def credits(self, detail: bool = False) -> Credits:
        """The account's balance, concurrency limit, running and queued tasks
        (``GET /ent/v2/credits``); ``detail`` adds the purchased ``packages``."""
        if not isinstance(detail, bool):
            raise ValidationError("detail", detail, "must be True or False")
        params = [("show_detail", "true" if detail else "false")]
        resp = self._transport.get(account.CREDITS_PATH, params=params)
        return Credits.from_response(object_answer(resp, "credits"))

    def list_tasks(
        self,
        *,
        since: When | None = None,
        until: When | None = None,
        states: Any = None,
        task_ids: Any = None,
        model_versions: Any = None,
        resolutions: Any = None,
        page_size: int = 100,
    ) -> Iterator[Task]:
        """The service's tasks (``GET /ent/v2/tasks``), fetched a page at a time as iterated.

        ``since``/``until`` bound the creation time (datetimes, naive ones taken as UTC, or
        ISO strings; the service's default window is the last 7 days). ``states``,
        ``task_ids``, ``model_versions`` (the list's short names such as ``q2-pro``; a model
        id is refused) and ``resolutions`` filter: each takes a list, or one
        string as a single item. ``page_size`` is 1-100. Listed tasks carry no ``payload``
        or ``credits`` and their ``state`` is ``""`` when the list does not give one:
        ``get(task)`` fills them in. The arguments are checked here, before any request.
        """
        params = account.list_params(
            since=since,
            until=until,
            states=states,
            task_ids=task_ids,
            model_versions=model_versions,
            resolutions=resolutions,
            page_size=page_size,
        )
        return self._task_pages(params)

    def _task_pages(self, params: list[tuple[str, str]]) -> Iterator[Task]:
        """Follows ``next_page_token`` until it is empty or absent; a token that comes back
        again would loop forever, so it raises instead."""
        token, seen = "", set()
        while True:
            query = [*params, ("pager.page_token", token)] if token else params
            resp = self._transport.get(account.TASKS_PATH, params=query)
            page = object_answer(resp, "task list")
            items = page.get("tasks")
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    yield account.listed_task(item, resp.trace_id).bind(self)
            seen.add(token)
            token = page.get("next_page_token") or ""
            if not isinstance(token, str) or not token:
                return
            if token in seen:
                raise APIError(
                    resp.status,
                    "InvalidResponse",
                    f"the task list gave page token {token!r} again; stopped to avoid a loop",
                    resp.trace_id,
                )

    def verify_callback(
        self,
        method: str,
        path: str,
        query: str | Mapping[str, str] | None,
        headers: Mapping[str, str],
        *,
        max_skew: float = 300,
    ) -> bool:
        """Whether a callback request was signed with this client's key (and is recent).

        ``query`` is the raw query string of the request, exactly as received (see
        ``callbacks``); ``verify_callback_url`` takes the request URL instead."""
        from .callbacks import verify_callback

        return verify_callback(self._key(), method, path, query, headers, max_skew=max_skew)

    def verify_callback_url(
        self, method: str, url: str, headers: Mapping[str, str], *, max_skew: float = 300
    ) -> bool:
        """``verify_callback`` for the request URL as received (``/path?query`` or absolute)."""
        from .callbacks import verify_callback_url

        return verify_callback_url(self._key(), method, url, headers, max_skew=max_skew)

    def _key(self) -> str:
        assert self.config.api_key is not None
        return self.config.api_key.reveal()

    def wait(
        self,
        task_or_id: Task | str,
        timeout: float | None = 600.0,
        on_update: Callable[[Task], None] | None = None,
        *,
        cancel_on_timeout: bool = False,
        raise_on_failure: bool = True,
    ) -> Task:
        """Block until the task succeeds, fails or is cancelled; return the final task.

        ``on_update(task)`` is called on every state change. Transient errors (dropped
        connections, 5xx, 429) are ridden out until ``timeout`` seconds have passed; then
        ``WaitTimeout`` is raised (after requesting a cancel when ``cancel_on_timeout``).
        A failed task raises ``TaskFailed`` with its ``err_code`` unless ``raise_on_failure``
        is false; a cancelled task (any spelling) is returned as it is. A state the package
        does not know (``scheduled``, ``preparation``, ...) is waited through like queueing.
        ``timeout=None`` waits for as long as it takes.
        """
        _check_timeout(timeout)
        if on_update is not None and not callable(on_update):
            raise ValidationError("on_update", on_update, "must be a function of the task, or None")
        _plain_id(task_or_id)
        start = time.monotonic()
        deadline = None if timeout is None else start + max(0.0, timeout)
        if isinstance(task_or_id, Task):
            task, seen = task_or_id.bind(self), task_or_id.state
        else:
            task, seen = Task(id=_plain_id(task_or_id), state="").bind(self), ""
        attempt, retry_after = 0, None
        watch = Watch(task_key(task))
        while not task.done:
            if seen or attempt:  # an id alone is checked at once, then by the schedule
                now = time.monotonic()
                delay = self.schedule.next_delay(
                    now - start,
                    task.state or "created",
                    attempt,
                    off_peak=bool(task.off_peak),
                    retry_after=retry_after,
                    expected=self.timing.forecast(watch, now),
                    checks=watch.checks,
                    rank=watch.rank,
                    lag=self.schedule.wait_lag,
                )
                if deadline is not None:
                    delay = min(delay, max(0.0, deadline - time.monotonic()))
                time.sleep(delay)
            attempt += 1
            retry_after = None
            sent = time.monotonic()
            try:
                task = self._get(task, deadline)
            except _TRANSIENT as exc:
                retry_after = getattr(exc, "retry_after", None)
                log.warning("checking task %s failed (%s); will retry", task.id, exc)
            else:
                self.timing.record(watch, task, sent, time.monotonic())
                if task.state != seen:
                    seen, attempt = task.state, 0
                    if on_update is not None:
                        on_update(task)
            if not task.done and deadline is not None and time.monotonic() >= deadline:
                self._timed_out(task, timeout or 0.0, cancel_on_timeout)
        if task.failed and raise_on_failure:
            raise TaskFailed(task.id, task.err_code, task)
        return task  # success, failed (when not raised) or cancelled

    def _timed_out(self, task: Task, timeout: float, cancel: bool) -> None:
        cancelled = False
        if cancel:
            try:
                self.cancel(task)
                cancelled = True
            except ViduError as exc:
                log.warning("cancel of task %s after wait timeout failed: %s", task.id, exc)
        raise WaitTimeout(task.id, timeout, task.state, cancelled)


def _check_request(request: Any) -> None:
    """A generation request is an object that can build its body (``Img2VideoRequest``); a
    dict or text would fail deep inside, or worse, be sent as it is. (The class itself, not
    an instance of it, is refused too.)"""
    if isinstance(request, type) or not (
        callable(getattr(request, "fitted_body", None))
        and isinstance(getattr(request, "endpoint", None), str)
    ):
        raise ValidationError(
            "request", request, "must be an Img2VideoRequest (or another generation request)"
        )


def _check_timeout(timeout: Any) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ValidationError("timeout", timeout, "must be seconds >= 0, or None to wait on")
    if math.isnan(timeout) or timeout < 0:
        raise ValidationError("timeout", timeout, "must be seconds >= 0, or None to wait on")


def _plain_id(task_or_id: Task | str) -> str:
    """The task id, checked and stripped (not URL-quoted: that is ``_task_id``)."""
    task_id = task_or_id.id if isinstance(task_or_id, Task) else task_or_id
    if not isinstance(task_id, str) or not task_id.strip():
        raise ValidationError("task", task_or_id, "must be a Task or a non-empty task_id string")
    return task_id.strip()


def _task_id(task_or_id: Task | str) -> str:
    """The task id as a URL path segment."""
    return quote(_plain_id(task_or_id), safe="")

"""``Workspace``: the one place where a client, the task log, its cache and a poller are wired.

A notebook, the form and the command line all need the same set of parts: a client (the
embedded simulator when nothing is configured), the task log, the video cache next to it and
one background poller that follows what the log holds. They are put together here, from
configuration (``Workspace.from_env()``) or from parts given, and nowhere else: the layers
below build nothing above themselves (the task log builds no poller, the client starts no
simulator).

Parts are made when first asked for, so looking (a form drawn, a log read) starts no client and
no poller. The poller is started by ``Poller.resume``: it takes over what an earlier kernel left
unfinished or unsent in the log. ``close()`` stops and closes what the workspace made, never a
part it was given.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client.config import ClientConfig
from ..client.core import AccountReader, TaskService
from ..errors import ValidationError

if TYPE_CHECKING:
    from ..request.spec import Img2VideoRequest
    from ..tracking.cache import VideoCache
    from ..tracking.poller import Poller, Submission
    from ..tracking.shared import VideoStore
    from ..tracking.tasklog import TaskLog


class Workspace:
    """The client, task log, video cache and poller of one notebook, form or command.

    ``Workspace.from_env()`` reads the configuration (``VIDU_API_KEY``, ``VIDU_BASE_URL``,
    ``VIDU_AUTH_SCHEME``, ``VIDU_LOG_PATH``, ``VIDU_VIDEO_STORE``);
    ``Workspace(client=..., log=..., poller=...)`` wires parts made elsewhere (a test's
    simulator client, an open log). ``poller_settings`` are ``Poller``'s keyword arguments
    (``max_running``, ``policy``, ...). ``video_store``: the team's shared ``VideoStore`` (or
    its URL) the cache uploads to and reads from; ``None`` reads ``VIDU_VIDEO_STORE``, ``False``
    means none. A context manager.
    """

    def __init__(
        self,
        client: TaskService | None = None,
        log: TaskLog | None = None,
        *,
        log_path: str | os.PathLike[str] | None = None,
        poller: Poller | None = None,
        poller_settings: Mapping[str, Any] | None = None,
        video_store: VideoStore | str | os.PathLike[str] | bool | None = None,
    ) -> None:
        if log is not None and log_path is not None:
            raise ValidationError("log_path", log_path, "give log= or log_path=, not both")
        if log_path is not None and not isinstance(log_path, (str, os.PathLike)):
            raise ValidationError(
                "log_path", log_path, "must be a file path (str or Path) or a postgresql:// URL"
            )
        if poller_settings is not None and not isinstance(poller_settings, Mapping):
            raise ValidationError(
                "poller_settings", poller_settings, "must be a mapping of Poller keyword arguments"
            )
        if poller is not None:  # its own client and log, unless others are given
            client = client if client is not None else getattr(poller, "client", None)
            log = log if log is not None else getattr(poller, "log", None)
            if poller_settings:
                raise ValidationError(
                    "poller_settings", dict(poller_settings), "are for a poller the workspace "
                    "starts; this one was given (poller=)"
                )  # fmt: skip
        self._client = client
        self._log = log
        self._log_path = log_path
        self._poller = poller
        self._cache: VideoCache | None = None
        self._video_store = video_store
        self._settings = dict(poller_settings or {})
        self._made: list[Any] = []  # what close() stops or closes, the last made first
        self._lock = threading.RLock()
        self._closed = False

    @classmethod
    def from_env(
        cls, *, log_path: str | os.PathLike[str] | None = None, **poller_settings: Any
    ) -> Workspace:
        """A workspace from the configuration: the client ``ViduClient()`` resolves (the local
        simulator when no key and no base URL are set) and the task log at ``log_path`` or
        ``$VIDU_LOG_PATH`` or ``./vidu_tasks.sqlite``, and the shared video store of
        ``$VIDU_VIDEO_STORE`` when set. The settings are checked and the log is opened now, so
        a bad one is reported here; the client (and with it the local simulator), the poller
        and any connection to the store are made on first use."""
        ClientConfig.resolve()  # raises ValidationError naming a bad setting; sends nothing
        from ..tracking.shared import VideoStore

        store = VideoStore.from_env()  # a bad setting is named here (never its credentials)
        ws = cls(
            log_path=log_path, poller_settings=poller_settings,
            video_store=store if store is not None else False,
        )  # fmt: skip
        ws.log  # noqa: B018 - opened now: a bad path is reported here
        return ws

    # -- the parts -------------------------------------------------------------------------
    @property
    def client(self) -> TaskService:
        """The client (``ViduClient()`` from the configuration when none was given)."""
        with self._lock:
            self._check_open()
            if self._client is None:
                from ..client.core import ViduClient

                self._client = self._keep(ViduClient())
            return self._client

    @property
    def client_if_open(self) -> TaskService | None:
        """The client if one was given or made (a view that only looks must not make one)."""
        return self._client

    @property
    def account(self) -> AccountReader | None:
        """The client, when it reads the account (balance, task list); else None."""
        client = self.client
        return client if isinstance(client, AccountReader) else None

    @property
    def log(self) -> TaskLog:
        """The task log (opened at ``log_path`` or the default path when none was given)."""
        with self._lock:
            self._check_open()
            if self._log is None:
                from ..tracking.tasklog import TaskLog

                self._log = self._keep(TaskLog(self._log_path))
            return self._log

    @property
    def log_if_open(self) -> TaskLog | None:
        return self._log

    @property
    def log_path(self) -> Path:
        """Where the task log is, or will be when first opened (without opening it)."""
        if self._log is not None:
            return Path(self._log.path)
        from ..tracking.tasklog import default_log_path, is_log_url, store_for
        from ..tracking.tasklog.log import LOG_URL_ENV

        if is_log_url(self._log_path) or (self._log_path is None and os.environ.get(LOG_URL_ENV)):
            return store_for(self._log_path).path  # a team's log: this machine's folder for it
        return Path(self._log_path) if self._log_path is not None else default_log_path()

    @property
    def cache(self) -> VideoCache | None:
        """The video cache next to the log: the poller's (None if it was started without
        one), or one made for it that the poller will use."""
        with self._lock:
            self._check_open()
            if self._poller is not None:
                return self._poller.cache
            if self._cache is None:
                from ..tracking.cache import VideoCache

                shared = self._video_store
                self._cache = self._keep(VideoCache(self.log.cache_dir, shared=shared))
            return self._cache

    @property
    def poller(self) -> Poller:
        """The background poller, started on first use with ``Poller.resume``: it follows
        every unfinished task of the log and sends what earlier kernels left unsent."""
        with self._lock:
            self._check_open()
            if self._poller is None:
                from ..tracking.poller import Poller

                settings = dict(self._settings)
                if "cache" not in settings:  # the workspace's: one uploader, one store
                    settings["cache"] = self.cache
                self._poller = self._keep(Poller.resume(self.client, self.log, **settings))
            return self._poller.start()  # a given poller may not be started yet

    @property
    def poller_if_open(self) -> Poller | None:
        """The poller if one was given or started (a view that only looks must not start one)."""
        return self._poller

    @property
    def has_poller(self) -> bool:
        return self._poller is not None

    # -- what it is for --------------------------------------------------------------------
    def submit(
        self,
        request: Img2VideoRequest,
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        parent: Any = None,
    ) -> Submission:
        """Queue ``request`` with the poller (recorded in the log first); returns at once.
        ``parent``: the task it re-runs (see ``Poller.submit_many``)."""
        return self.poller.submit(
            request, experiment=experiment, tags=tags, notes=notes, parent=parent
        )

    def submit_many(
        self,
        requests: Iterable[Img2VideoRequest],
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        parent: Any = None,
    ) -> list[Submission]:
        """Queue requests in order, in one transaction of the log; returns at once."""
        return self.poller.submit_many(
            requests, experiment=experiment, tags=tags, notes=notes, parent=parent
        )

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the poller and close the log, cache and client this workspace made (the ones
        it was given stay open: their owner closes them)."""
        with self._lock:
            self._closed = True
            made, self._made = self._made, []
        for part in reversed(made):
            stop = getattr(part, "stop", None) or part.close
            stop()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        from ..tracking.tasklog import shown_target

        log = self._log.path if self._log is not None else self._log_path or "(default, not open)"
        log = shown_target(log)  # a team log's URL without its password
        poller = "running" if self._poller is not None else "not started"
        return f"Workspace(client={self._client!r}, log={log!r}, poller={poller})"

    def _keep(self, part: Any) -> Any:
        self._made.append(part)
        return part

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError("workspace", self, "is closed; make a new Workspace")

"""``VideoStore``: where a team's videos live once downloaded: a shared folder (a plain path or a
``file://`` URL) or a bucket of an S3-compatible service (``s3://bucket/prefix``) through
fsspec and s3fs.

Objects are named like the files of the local cache (``<task>.mp4``, ``<task>.json``,
``<task>-cover.jpg``: ``cache.safe_name`` of the task id), so a name never leaves the store's
prefix and every kernel finds a task's files without a shared index. A name the store already
holds with the same size is not uploaded again.

Credentials come from ``VIDU_VIDEO_STORE_OPTIONS`` (fsspec storage options as JSON, e.g.
``{"endpoint_url": ..., "key": ..., "secret": ...}``) or the standard ``AWS_*`` settings that
botocore reads itself; never from the URL. They are kept out of ``repr``, log lines and
exceptions: every message about the store is built here and has each credential's text
replaced, whatever the library below put into its own error.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...errors import ValidationError, ViduError

log = logging.getLogger("vidu_nb.store")

#: Where the store is: ``s3://bucket/prefix``, ``file:///shared/videos`` or a folder path.
STORE_ENV = "VIDU_VIDEO_STORE"
#: fsspec storage options as a JSON object (credentials, ``endpoint_url``, ...).
STORE_OPTIONS_ENV = "VIDU_VIDEO_STORE_OPTIONS"
#: A presigned URL lives at most this long (what S3's signature version 4 allows).
MAX_EXPIRES = 7 * 86400

_SECRET_OPTION = re.compile(r"key|secret|token|password|passwd|credential|auth|sas", re.I)
_SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
_HIDDEN = "***"
#: S3 settings that make an unreachable store fail in seconds rather than minutes (the caller
#: falls back to the service's URL, or retries the upload later); a user's options win.
_S3_RETRIES = 2
#: Signature version 4 for presigned URLs (7 days at most; version 2 is retired on AWS).
_S3_CONFIG = {
    "connect_timeout": 5,
    "read_timeout": 60,
    "retries": {"max_attempts": 2},
    "signature_version": "s3v4",
}


class StoreError(ViduError):
    """The shared video store could not be reached or refused an operation. The message names
    the store (its URL, without credentials) and what failed; never a credential."""

    def __init__(self, store: str, what: str, reason: str) -> None:
        self.store = store
        self.what = what
        super().__init__(f"video store {store}: cannot {what}: {reason}")


class VideoStore:
    """A shared home for cached videos at ``url`` (see the module docstring).

    ``options`` are fsspec storage options (for S3: ``endpoint_url``, ``key``, ``secret``,
    ``client_kwargs``, ...). Nothing is contacted until a file is asked for or sent, so a store
    made offline is fine; every method raises ``StoreError`` when the store cannot be reached.
    """

    def __init__(
        self, url: str | os.PathLike[str], *, options: Mapping[str, Any] | None = None
    ) -> None:
        if isinstance(url, os.PathLike):
            url = os.fspath(url)
        if not isinstance(url, str) or not url.strip():
            raise ValidationError("url", url, "must be a folder path, file:// or s3:// URL")
        if options is not None and not isinstance(options, Mapping):
            raise ValidationError("options", _HIDDEN, "must be a mapping of storage options")
        self._options = dict(options or {})
        self._secrets = _secrets_in(self._options)
        self.protocol, self.root = _location(url.strip(), self._redact)
        self.url = self.root if self.protocol == "file" else f"{self.protocol}://{self.root}"
        if self.protocol != "file":
            _check_protocol(self.protocol, self.url)
        self._fs: Any = None
        self._fs_lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> VideoStore | None:
        """The store ``VIDU_VIDEO_STORE`` names (with ``VIDU_VIDEO_STORE_OPTIONS``), or None."""
        env = os.environ if environ is None else environ
        url = env.get(STORE_ENV, "").strip()
        if not url:
            return None
        raw = env.get(STORE_OPTIONS_ENV, "").strip()
        options: Any = {}
        if raw:
            try:
                options = json.loads(raw)
            except ValueError:
                options = None
            if not isinstance(options, dict):  # its text may hold credentials: never shown
                raise ValidationError(
                    STORE_OPTIONS_ENV, "(not shown)", "must be a JSON object of storage options"
                )
        try:
            return cls(url, options=options)
        except ValidationError as exc:
            raise ValidationError(STORE_ENV, exc.value, exc.limit) from None

    def __repr__(self) -> str:
        return f"VideoStore({self.url!r})"

    @property
    def can_sign(self) -> bool:
        """True when the store gives presigned URLs (S3)."""
        return self.protocol in ("s3", "s3a")

    # -- what the cache asks for -----------------------------------------------------------
    def sizes(self, names: Iterable[str]) -> dict[str, int]:
        """The sizes of those of ``names`` the store holds (one listing on S3)."""
        wanted = [_checked(n) for n in names]
        if not wanted:
            return {}
        return self._call("look for " + wanted[0], self._sizes, wanted)

    def put(self, local: str | os.PathLike[str], name: str | None = None) -> bool:
        """Upload a local file as ``name`` (its own name by default), unless the store holds
        that name with the same size already. True when it was uploaded."""
        local = Path(local)
        name = _checked(name or local.name)
        size = local.stat().st_size
        if self.sizes([name]).get(name) == size:
            return False
        self._call(f"upload {name}", self._put, local, name)
        log.info("%s: uploaded %s (%d bytes)", self.url, name, size)
        return True

    def get(self, name: str, target: str | os.PathLike[str]) -> None:
        """Download ``name`` into the file ``target`` (the caller renames it into place)."""
        self._call(f"download {_checked(name)}", self._get, name, Path(target))

    def signed_url(self, name: str, expires: int = 86400) -> str:
        """A presigned GET URL of ``name`` valid for ``expires`` seconds (S3 stores only), for
        pages shared with people who have no credentials of the store. Like every presigned
        URL it names the access key's id (never its secret): sign with a key that may only
        read the store's prefix."""
        if not self.can_sign:
            raise ValidationError("store", repr(self), "gives no presigned URLs (an s3:// store)")
        if isinstance(expires, bool) or not isinstance(expires, int):
            raise ValidationError("expires", expires, "must be whole seconds")
        if not 1 <= expires <= MAX_EXPIRES:
            raise ValidationError("expires", expires, f"must be 1..{MAX_EXPIRES} seconds")
        name = _checked(name)
        return str(self._call(f"sign {name}", lambda: self._fsys().sign(self._key(name), expires)))

    # -- the two kinds of store ------------------------------------------------------------
    def _key(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def _sizes(self, names: list[str]) -> dict[str, int]:
        if self.protocol == "file":
            self._folder()
            found = {}
            for name in names:
                try:
                    found[name] = os.stat(self._key(name)).st_size
                except FileNotFoundError:
                    pass
            return found
        fs = self._fsys()
        if self.can_sign:  # one LIST of the common prefix instead of a HEAD per name
            prefix = os.path.commonprefix(names)
            listed = fs.find(self.root.rstrip("/"), prefix=prefix, detail=True)
            by_name = {str(k).rsplit("/", 1)[-1]: v for k, v in listed.items()}
            return {n: int(by_name[n]["size"]) for n in names if n in by_name}
        found = {}
        for name in names:
            try:
                found[name] = int(fs.info(self._key(name))["size"])
            except FileNotFoundError:
                pass
        return found

    def _put(self, local: Path, name: str) -> None:
        if self.protocol != "file":
            self._fsys().put_file(str(local), self._key(name))
            return
        folder = self._folder()  # a copy under a temporary name, renamed: never seen half
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, open(local, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self._key(name))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _get(self, name: str, target: Path) -> None:
        if self.protocol == "file":
            self._folder()
            shutil.copyfile(self._key(name), target)
        else:
            self._fsys().get_file(self._key(name), str(target))

    def _folder(self) -> str:
        """The shared folder; one that is not there (an unmounted share) is never created:
        the store is unreachable until it is back."""
        if not os.path.isdir(self.root):
            raise ConnectionError("the folder is not there (not mounted?)")
        return self.root

    def _fsys(self) -> Any:
        with self._fs_lock:
            if self._fs is None:
                import fsspec

                options = dict(self._options)
                if self.can_sign:
                    config = dict(options.get("config_kwargs") or {})
                    options["config_kwargs"] = {**_S3_CONFIG, **config}
                options.setdefault("skip_instance_cache", True)  # our options, not a cached fs's
                options.setdefault("use_listings_cache", False)  # other kernels write too
                self._fs = fsspec.filesystem(self.protocol, **options)
                if self.can_sign:  # s3fs's own retries on top of botocore's (5 by default)
                    self._fs.retries = _S3_RETRIES
            return self._fs

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ViduError:
            raise
        except Exception as exc:  # the library's text, credentials replaced
            reason = self._redact(f"{type(exc).__name__}: {exc}")
            raise StoreError(self.url, what, reason) from None

    def _redact(self, text: str) -> str:
        for secret in self._secrets + [os.environ.get(k, "") for k in _SECRET_ENV]:
            if len(secret) >= 4:
                text = text.replace(secret, _HIDDEN)
        return text


def _location(url: str, redact: Any) -> tuple[str, str]:
    """``(protocol, root)`` of a store URL or folder path; credentials in a URL are refused."""
    parts = urlsplit(url)
    if "://" not in url:
        return "file", str(Path(url).expanduser().absolute())
    if parts.username is not None or parts.password is not None:
        shown = f"{parts.scheme}://{_HIDDEN}@{parts.hostname or ''}{parts.path}"
        raise ValidationError(
            "url", shown, f"credentials go in {STORE_OPTIONS_ENV} or AWS_* settings, not the URL"
        )
    if parts.query or parts.fragment:
        raise ValidationError("url", redact(url), "must have no query or fragment")
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValidationError("url", url, "a file:// URL names a folder on this machine")
        return "file", str(Path(parts.path).absolute())
    root = f"{parts.netloc}{parts.path}".strip("/")
    if not parts.netloc:
        raise ValidationError("url", url, "must name a bucket: s3://bucket/prefix")
    return scheme, root


def _check_protocol(protocol: str, url: str) -> None:
    """A URL store needs fsspec and the protocol's package (s3fs for ``s3://``): said now,
    not at the first upload. A shared folder needs neither."""
    try:
        import fsspec
    except ImportError:
        raise ValidationError(
            "url", url, "a store at a URL needs fsspec and s3fs: pip install 'vidu-nb[teams]'"
        ) from None
    if protocol not in fsspec.available_protocols():
        raise ValidationError("url", url, "is not a protocol fsspec knows (s3://, file://)")
    if protocol in ("s3", "s3a") and importlib.util.find_spec("s3fs") is None:
        raise ValidationError("url", url, "an s3:// store needs s3fs: pip install 'vidu-nb[teams]'")


def _checked(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError("name", name, "must be a cache file name (letters, digits, _.-)")
    return name


def _secrets_in(options: Mapping[str, Any]) -> list[str]:
    """Every text of the options under a name that sounds secret, however deeply nested."""
    found: list[str] = []
    for key, value in options.items():
        if isinstance(value, Mapping):
            found += _secrets_in(value)
        elif isinstance(value, str) and _SECRET_OPTION.search(str(key)):
            found.append(value)
    return found

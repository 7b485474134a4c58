"""Where requests go and how they authenticate, resolved once from arguments or environment.

The API key lives in a ``Secret`` whose repr and str are redacted, so printing a client, a
config, a traceback's locals or a log record can never show it.

Resolution (arguments win over ``VIDU_API_KEY``, ``VIDU_BASE_URL``, ``VIDU_AUTH_SCHEME``):

- a key and no base URL: the official host ``https://api.vidu.com``;
- no key and no base URL: the default server (``embedded=True``): whatever ``set_default_server``
  installed, which importing ``vidu_nb`` makes the embedded local simulator, nothing is charged;
- a base URL and no key: an error, except on a loopback host, where a separately started
  simulator is assumed and its default key ``sim-key`` is used;
- the auth scheme defaults by host: ``vidu.com`` / ``vidu.cn`` use ``Token``, the
  ``powertokens`` reseller uses ``Bearer``, anything else ``Token``;
- on a loopback host, ``VIDU_SIM_SPEED`` (set by ``vidu-nb lab`` and Binder for their kernels)
  gives the simulator's pace as ``sim_speed``, so the client polls it at that pace.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn, Protocol
from urllib.parse import urlsplit

from ..errors import ValidationError

OFFICIAL_BASE_URL = "https://api.vidu.com"
AUTH_SCHEMES = ("Token", "Bearer")
SIMULATOR_DEFAULT_KEY = "sim-key"
ENV_API_KEY = "VIDU_API_KEY"
ENV_BASE_URL = "VIDU_BASE_URL"
ENV_AUTH_SCHEME = "VIDU_AUTH_SCHEME"
ENV_SIM_SPEED = "VIDU_SIM_SPEED"
_REDACTED = "<redacted>"
#: Where every API path starts; dropped from the end of a base URL that repeats it.
API_ROOT = "/ent/v2"


class Server(Protocol):
    """A running stand-in for the API that a client can be pointed at (a ``Simulator`` is one)."""

    @property
    def base_url(self) -> str: ...

    @property
    def api_key(self) -> str: ...

    @property
    def speed(self) -> float: ...  # how much faster than the real service it runs


#: What ``ViduClient()`` talks to when neither a key nor a base URL is configured. The client
#: layer only holds the slot: the workspace layer puts the embedded simulator in it when
#: ``vidu_nb`` is imported, so nothing here imports the simulator or starts it.
_default_server: Callable[[], Server] | None = None


def set_default_server(provider: Callable[[], Server] | None) -> Callable[[], Server] | None:
    """Install the no-configuration default (``None`` removes it); returns the one it replaced."""
    global _default_server
    previous, _default_server = _default_server, provider
    return previous


def default_server() -> Server:
    """The server for a client with no key and no base URL (started by its provider)."""
    provider = _default_server
    if provider is None:
        raise ValidationError(
            "api_key",
            None,
            f"no {ENV_API_KEY} or {ENV_BASE_URL} is set and no default server is installed: "
            f"set {ENV_API_KEY} (or pass api_key=)",
        )
    return provider()


class Secret:
    """A credential that never shows itself: ``repr``/``str``/``format`` are redacted.

    ``reveal()`` is the only way to read it, and only the transport calls it.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_REDACTED!r})"

    def __str__(self) -> str:
        return _REDACTED

    def __format__(self, spec: str) -> str:
        return _REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class ClientConfig:
    """Resolved connection settings. ``base_url`` is empty when ``embedded`` is true."""

    api_key: Secret | None
    base_url: str
    auth_scheme: str
    embedded: bool = False
    #: How much faster than real time a loopback simulator runs (from ``VIDU_SIM_SPEED``).
    sim_speed: float | None = None

    @classmethod
    def resolve(
        cls,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        auth_scheme: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Apply the rules in the module docstring; raise ``ValidationError`` when unusable."""
        env = os.environ if env is None else env
        key = _clean_key(api_key if api_key is not None else env.get(ENV_API_KEY))
        url = (base_url if base_url is not None else env.get(ENV_BASE_URL) or "").strip()
        scheme = auth_scheme if auth_scheme is not None else env.get(ENV_AUTH_SCHEME)
        if not url:
            if key is None:
                return cls(None, "", _normalise_scheme(scheme) or "Token", embedded=True)
            url = OFFICIAL_BASE_URL
        url = normalise_base_url(url)
        if key is None:
            if not is_loopback_url(url):
                raise ValidationError(
                    "api_key",
                    None,
                    f"{ENV_BASE_URL} or base_url is set to {url} but no API key was given; "
                    f"set {ENV_API_KEY} (or pass api_key=), or unset {ENV_BASE_URL} "
                    "to use the local simulator",
                )
            key = Secret(SIMULATOR_DEFAULT_KEY)
        speed = env_sim_speed(env) if is_loopback_url(url) else None
        return cls(key, url, _normalise_scheme(scheme) or default_auth_scheme(url), False, speed)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def is_loopback(self) -> bool:
        return bool(self.base_url) and is_loopback_url(self.base_url)

    def with_server(self, base_url: str, api_key: str) -> ClientConfig:
        """This config pointed at a concrete (simulator) server."""
        return ClientConfig(
            _clean_key(api_key), normalise_base_url(base_url), self.auth_scheme, self.embedded
        )


def normalise_base_url(url: str) -> str:
    """Check a base URL and drop its trailing slash and a trailing ``/ent/v2``; a path prefix
    (``/vidu``) is kept."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            "base_url", url, "must be an http(s) URL such as https://api.vidu.com"
        )
    if parts.query or parts.fragment:
        raise ValidationError("base_url", url, "must not have a query or fragment")
    if parts.username or parts.password:
        raise ValidationError("base_url", "<with credentials>", "must not embed credentials")
    if parts.scheme == "http" and not is_loopback_url(url):
        raise ValidationError(
            "base_url", url, "must use https (plain http only for loopback hosts)"
        )
    path = parts.path.rstrip("/")
    # The API paths start with /ent/v2: a base URL copied with them (".../vidu/ent/v2") would
    # double them and every call would be a 404.
    if path.lower().endswith(API_ROOT):
        path = path[: -len(API_ROOT)].rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}"


def env_sim_speed(env: Mapping[str, str] | None = None) -> float | None:
    """``VIDU_SIM_SPEED`` as a number > 0, or None when unset; anything else is an error."""
    raw = (os.environ if env is None else env).get(ENV_SIM_SPEED, "").strip()
    if not raw:
        return None
    try:
        speed = float(raw)
    except ValueError:
        speed = 0.0
    if not 0 < speed < float("inf"):
        raise ValidationError(ENV_SIM_SPEED, raw, "must be a number > 0 (1 = real-time pace)")
    return speed


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_auth_scheme(base_url: str) -> str:
    host = (urlsplit(base_url).hostname or "").lower()
    if "powertokens" in host:
        return "Bearer"
    return "Token"


def _normalise_scheme(scheme: str | None) -> str | None:
    if scheme is None or not scheme.strip():
        return None
    for known in AUTH_SCHEMES:
        if scheme.strip().lower() == known.lower():
            return known
    raise ValidationError("auth_scheme", scheme, f"must be one of {', '.join(AUTH_SCHEMES)}")


def _clean_key(key: str | Secret | None) -> Secret | None:
    if key is None:
        return None
    value = key.reveal() if isinstance(key, Secret) else key
    if not isinstance(value, str):
        raise ValidationError("api_key", type(value).__name__, "must be a string")
    value = value.strip()
    if not value:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        # The value itself is never put in the error.
        raise ValidationError(
            "api_key",
            _REDACTED,
            "must not contain spaces or control characters (give the key alone, "
            "without a 'Token ' or 'Bearer ' prefix)",
        )
    if not value.isascii():
        # An HTTP header cannot carry it: the encoding error would hold the whole header
        # (key included) in its args and repr. Often a pasted invisible character.
        raise ValidationError(
            "api_key", _REDACTED, "must be ASCII (a pasted invisible or typographic character?)"
        )
    return Secret(value)

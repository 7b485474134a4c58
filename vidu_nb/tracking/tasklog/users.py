"""Who is asking: the name stored as a row's ``submitted_by`` (schema 6).

On a JupyterHub every notebook server runs as the same OS user more often than not, and the
hub names the person in ``JUPYTERHUB_USER``; elsewhere the OS user is the person. The API key
says nothing about who asked (a team shares one) and is never stored.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping


def current_user(env: Mapping[str, str] | None = None) -> str | None:
    """JupyterHub's user when the notebook runs under a hub, else the OS user (None when the
    system cannot say)."""
    env = os.environ if env is None else env
    hub = (env.get("JUPYTERHUB_USER") or "").strip()
    if hub:
        return hub
    try:
        return getpass.getuser() or None
    except Exception:  # no login name, no USER/LOGNAME, no password entry (some containers)
        return None

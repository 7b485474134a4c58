"""The client layer: talking to the Vidu API (or anything that answers like it).

``core`` holds ``ViduClient`` and the protocols the layers above ask for (``TaskService``,
``TaskReader``, ``AccountReader``); ``config`` resolves where requests go (and, with nothing
configured, asks the registered default server), ``transport`` sends them with safe retries,
``answers``/``task``/``account`` read what comes back (``times``: the API's time format),
``schedule``/``timing`` decide when to look again, ``callbacks`` checks signed callbacks.
"""

from .core import AccountReader, Submittable, TaskReader, TaskService, ViduClient, new_client_ref

__all__ = [
    "AccountReader",
    "Submittable",
    "TaskReader",
    "TaskService",
    "ViduClient",
    "new_client_ref",
]

"""The workspace layer: the one place where the parts are wired together from configuration.

``Workspace`` (``core``) holds a client, the task log, its video cache and a poller, made on
first use; notebooks, the form and the command line ask it for them. ``embedded`` is the no-key
default server (one local simulator per process), installed as the client layer's default when
``vidu_nb`` is imported. Both import the layers below lazily, so importing ``vidu_nb`` stays fast.
"""

from .core import Workspace

__all__ = ["Workspace"]

"""The ``vidu-nb`` command: JupyterLab with a simulator, and task commands for the shell.

Exit codes: 0 ok, 1 any other error (e.g. a file that cannot be written), 2 usage or
validation error, 3 API or connection error, 4 task failed, 5 timed out, 130 interrupted
(Ctrl-C). Errors are one line on stderr (``--debug`` adds the
traceback); the API key is never printed.
"""

from .app import EXIT, build_parser, main

__all__ = ["EXIT", "build_parser", "main"]

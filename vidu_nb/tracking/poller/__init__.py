"""The background poller: one worker that submits, follows and downloads every task.

The notebook never waits on the network: ``Poller.submit`` records the request in the task log
(state ``queued``, so a restart loses nothing: ``Poller.resume`` sends it) and ``Poller.track``
only puts work in memory; both return at once. A single daemon thread (``worker``) keeps a heap of due checks (``due``) and hands
what is due to a small bounded pool of HTTP workers, so a slow answer does not delay the other
checks, and 200 pending tasks are one scheduler and a few workers, not 200 threads.
Submissions (``submissions``) are sent one at a time, in order. Checks (``checks``; processing
tasks due together are read by one task-list request: ``listing``) follow the
same ``PollSchedule`` as ``ViduClient.wait``, with a ``Timing`` learned from the log's finished
tasks (so it survives a kernel restart) and from every task seen finishing. Every state change
is written to the ``TaskLog`` and sent to subscribers (``events``); succeeded videos go to the
``VideoCache`` through a small download pool (``downloads``).

Concurrency policy (``policy``):

* ``"queue"`` (default): hold submissions locally and send one when fewer than
  ``max_running`` of this poller's tasks are unfinished, so the service's limit (5 running per
  organisation) is respected and nothing waits in the service's own queue.
* ``"submit_all"``: send everything at once and let the service queue it.

API faults never stop the worker: a 429 pauses all requests for its ``Retry-After``, other
errors back off per task and are recorded in the log as the task's last error.
"""

from .core import Poller
from .events import PollerEvent
from .handle import Submission
from .submissions import POLICIES

__all__ = ["POLICIES", "Poller", "PollerEvent", "Submission"]

"""Task states: the one definition of every state a task or a task-log row can be in.

The service documents five states (``created``, ``queueing``, ``processing``, ``success``,
``failed``), but its error texts and other APIs also say ``scheduled``/``scheduling``,
``preparation`` and ``canceled``/``cancelled``, and a new one may appear any day. So a state
stays a plain string, kept exactly as the service sent it (stored and shown as it is), and the
sets and predicates below decide what it means: an unknown state is *open* (keep following the
task), except a cancelled spelling, which is final. Our own bookkeeping adds the states of a
request that has no answer yet (``queued``, ``submitting``, ``uncertain``).

Every "is it final / is it ours / may it still change" question in the package is answered
here, never by a set of string literals somewhere else.
"""

from __future__ import annotations

from typing import Any

# -- the service's documented states ----------------------------------------------------------
CREATED = "created"
QUEUEING = "queueing"
PROCESSING = "processing"
SUCCESS = "success"
FAILED = "failed"
SERVICE_STATES = (CREATED, QUEUEING, PROCESSING, SUCCESS, FAILED)

# -- ours: a request before (or without) the service's answer ---------------------------------
#: Recorded in the log, not sent yet.
QUEUED = "queued"
#: Being sent right now; a process killed here leaves a row that may or may not have a task.
SUBMITTING = "submitting"
#: Sent, but the answer was lost: never sent again, settled by reconciliation.
UNCERTAIN = "uncertain"
#: Cancelled (by us, or a service spelling of it): final.
CANCELLED = "cancelled"
LOCAL_STATES = (QUEUED, SUBMITTING, UNCERTAIN, CANCELLED)

#: Spellings the service's other texts use; listed so that pickers and docs can name them.
UNDOCUMENTED_STATES = ("scheduled", "scheduling", "preparation", "canceled")
CANCELLED_SPELLINGS = frozenset({CANCELLED, "canceled"})

# -- derived sets -----------------------------------------------------------------------------
#: States that never change again: nothing left to poll, credits are settled.
FINAL_STATES = frozenset({SUCCESS, FAILED}) | CANCELLED_SPELLINGS
#: A row without a task id because the request was not (surely) sent.
UNSENT_STATES = (QUEUED, SUBMITTING)
#: Rows that may still get a task id: the POST was (maybe) sent, the answer never came.
RECONCILABLE_STATES = (UNCERTAIN, SUBMITTING)
#: Every name a picker offers, in the order a task lives through them.
ALL_STATES = (QUEUED, SUBMITTING, *SERVICE_STATES[:3], UNCERTAIN, *SERVICE_STATES[3:], CANCELLED)

_PROGRESS = {CREATED: 0, "scheduled": 1, "scheduling": 1, "preparation": 1, QUEUEING: 1}
_PROGRESS[PROCESSING] = 2


def norm(state: Any) -> str:
    """The state as compared here: trimmed and lower-case (``"Success "`` means success).
    The raw text is what gets stored and shown; only questions use this form."""
    return str(state if state is not None else "").strip().lower()


def is_final(state: Any) -> bool:
    """Nothing more will happen: success, failed or a cancelled spelling."""
    return norm(state) in FINAL_STATES


def is_success(state: Any) -> bool:
    return norm(state) == SUCCESS


def is_failed(state: Any) -> bool:
    return norm(state) == FAILED


def is_cancelled(state: Any) -> bool:
    return norm(state) in CANCELLED_SPELLINGS


def is_known(state: Any) -> bool:
    """Whether the state is one this package has a name for (others are kept raw)."""
    s = norm(state)
    return s in SERVICE_STATES or s in LOCAL_STATES or s in UNDOCUMENTED_STATES


def is_open(state: Any) -> bool:
    """A task the service is still working on (known or unknown state, not final, not ours)."""
    s = norm(state)
    return bool(s) and s not in FINAL_STATES and s not in LOCAL_STATES


def progress(state: Any) -> int:
    """How far along a state is, for ordering callbacks that arrive out of order:
    created 0, waiting (queueing, scheduled, ...) 1, processing 2, final 3; unknown 1."""
    s = norm(state)
    if s in FINAL_STATES:
        return 3
    return _PROGRESS.get(s, 1)

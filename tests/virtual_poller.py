"""The poller's own scheduling (``poller.due``: ``DueChecks``, ``delay_for``, ``pull_in``) on a
virtual clock, against a synthetic service: every task's life is known in advance, a check
answers what the task was doing at that instant. No threads, no sleeping, no HTTP: a run of
200 tasks takes milliseconds and counts every check exactly. With ``batch=True`` the processing
tasks due together are read by one listing (``poller.listing``: ``DueChecks.pop_batch``,
``Listing.takes``), and a task the listing says ended gets its confirming GET.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from vidu_nb.client.schedule import PollSchedule
from vidu_nb.client.timing import Key, Timing, Watch
from vidu_nb.tracking.poller.due import DueChecks, Tracked, delay_for
from vidu_nb.tracking.poller.listing import LIST_MAX, Listing


@dataclass
class Life:
    """One task on the synthetic service (seconds from the run's start)."""

    key: Key
    sent: float
    start: float  # processing begins
    end: float  # success
    created: float = 1.0  # seconds in ``created`` before ``queueing``

    def state(self, t: float) -> str:
        if t >= self.end:
            return "success"
        if t >= self.start:
            return "processing"
        return "created" if t < self.sent + self.created else "queueing"


@dataclass
class Outcome:
    life: Life
    checks: int = 0  # GETs
    listed: int = 0  # listings it was read by
    waiting: int = 0  # checks answered before it was seen processing
    seen_at: float | None = None

    @property
    def delay(self) -> float:
        assert self.seen_at is not None
        return self.seen_at - self.life.end

    @property
    def took(self) -> float:
        """Processing time."""
        return self.life.end - self.life.start

    @property
    def span(self) -> float:
        """Submit to finish: what the user waits for."""
        return self.life.end - self.life.sent


@dataclass
class Run:
    outcomes: list[Outcome]
    moved: int = 0  # checks moved earlier by pull_in
    listings: int = 0  # task-list requests (each one request, whatever it read)
    log: list[tuple[float, str]] = field(default_factory=list)

    def gets_per_task(self) -> float:
        return sum(o.checks for o in self.outcomes) / len(self.outcomes)

    def requests_per_task(self) -> float:
        """GETs and listings: what the server counts."""
        return self.gets_per_task() + self.listings / len(self.outcomes)

    def fixed_gets_per_task(self, period: float = 1.0) -> float:
        """What a poller checking every ``period`` from each submit would send (at least one
        check after the end: about span / period + 1/2 on average)."""
        return sum(o.span / period + 0.5 for o in self.outcomes) / len(self.outcomes)

    def delay_fraction(self) -> float:
        """Mean over tasks of detection delay / generation (processing) time."""
        return sum(o.delay / o.took for o in self.outcomes) / len(self.outcomes)

    def max_checks(self) -> int:
        return max(o.checks for o in self.outcomes)


def run(
    lives: Sequence[Life],
    schedule: PollSchedule | None = None,
    timing: Timing | None = None,
    *,
    answer: float = 0.02,
    pull_in: bool = True,
    batch: bool = False,
) -> Run:
    """Follow every task as the poller does (a check is answered ``answer`` s after it is
    sent); returns what each task cost and when its end was noticed."""
    schedule = schedule or PollSchedule(seed=1)
    timing = timing if timing is not None else Timing()
    due = DueChecks()
    outcomes = {str(i): Outcome(life) for i, life in enumerate(lives)}
    pending = sorted(outcomes.items(), key=lambda kv: kv[1].life.sent)
    moved = listings = 0
    ahead = schedule.batch_ahead * schedule.time_scale
    while pending or len(due):
        nxt = due.next_due()
        if pending and (nxt is None or pending[0][1].life.sent <= nxt):
            tid, out = pending.pop(0)
            now = out.life.sent
            tr = Tracked(tid, tid, now, state="created", primed=True, off_peak=out.life.key[3])
            tr.created = now
            tr.watch = Watch(out.life.key, submitted=now)
            tr.watch.seen("created", now)
            due.at(tr, now + delay_for(tr, now, schedule, timing))
            continue
        assert nxt is not None
        limit = LIST_MAX if batch else 1
        taken = due.pop_batch(nxt, ahead, limit, lambda t, at=nxt: Listing.takes(t, at, schedule))
        sent, answered = nxt, nxt + answer
        if len(taken) > 1:
            listings += 1
            for tr in taken:
                outcomes[tr.task_id].listed += 1
                if outcomes[tr.task_id].life.state(sent + answer / 2) == "success":
                    tr.ended_at = answered
                    due.at(tr, answered)  # the confirming GET
                    continue
                tr.watch.seen("processing", sent, answered)
                timing.learn(tr.watch, "processing", answered)
                tr.attempt += 1
                tr.listed += 1
                due.at(tr, answered + delay_for(tr, answered, schedule, timing))
            continue
        (tr,) = taken
        out = outcomes[tr.task_id]
        out.checks += 1
        state = out.life.state(sent + answer / 2)
        out.waiting += state in ("created", "queueing")
        tr.watch.seen(state, sent, answered)
        ended = answered if tr.ended_at is None else min(answered, tr.ended_at)
        tr.ended_at, tr.listed = None, 0
        news = timing.learn(tr.watch, state, ended if state == "success" else answered)
        if state != tr.state:
            tr.state, tr.attempt = state, 0
        else:
            tr.attempt += 1
        if state == "success":
            due.drop(tr.task_id)
            out.seen_at = answered
        else:
            due.at(tr, answered + delay_for(tr, answered, schedule, timing))
        if news and pull_in and tr.watch.key is not None:
            moved += due.pull_in(
                answered,
                lambda t, at=answered: at + delay_for(t, at, schedule, timing),
                lambda t, k=tr.watch.key: timing.affects(k, t.watch.key),
            )
    return Run(list(outcomes.values()), moved, listings)


def uniform_batch(
    n: int, low: float, high: float, *, seed: int = 1, key: Key = ("viduq3-pro", "720p", 5, False)
) -> list[Life]:
    """``n`` tasks of one setting sent together; processing uniform in ``[low, high]``."""
    rng = random.Random(f"lives-{seed}")  # not the schedule's jitter sequence
    return [Life(key, 0.0, 2.0, 2.0 + rng.uniform(low, high)) for _ in range(n)]


def settings_batch(n: int, *, seed: int = 1, noise: float = 0.1) -> list[Life]:
    """``n`` tasks of varied settings sent together; processing fixed by the settings (the
    simulator's model) within +-``noise``."""
    rng = random.Random(f"lives-{seed}")  # not the schedule's jitter sequence
    factor = {"540p": 0.8, "720p": 1.0, "1080p": 1.5}
    out = []
    for _ in range(n):
        duration, res = rng.randint(1, 8), rng.choice(list(factor))
        took = (8 + 3 * duration) * factor[res] * rng.uniform(1 - noise, 1 + noise)
        out.append(Life(("viduq3-pro", res, duration, False), 0.0, 2.0, 2.0 + took))
    return out


def mix_batch(n: int, *, seed: int = 1, every: float = 0.0) -> list[Life]:
    """``n`` tasks sent ``every`` seconds apart: three in four of varied settings taking
    minutes (six times the simulator's model), one in four off-peak, queued a minute longer
    and taking hours."""
    rng = random.Random(f"lives-{seed}")
    factor = {"540p": 0.8, "720p": 1.0, "1080p": 1.5}
    out = []
    for i in range(n):
        res, sent = rng.choice(list(factor)), i * every
        if i % 4 == 3:
            duration, took = rng.randint(10, 16), rng.uniform(3600.0, 3 * 3600.0)
            key = ("viduq3-pro", res, duration, True)
            out.append(Life(key, sent, sent + 62.0, sent + 62.0 + took))
            continue
        duration = rng.randint(1, 8)
        took = 6 * (8 + 3 * duration) * factor[res] * rng.uniform(0.9, 1.1)
        out.append(Life(("viduq3-pro", res, duration, False), sent, sent + 2.0, sent + 2.0 + took))
    return out

"""Fault rules for the simulator: the failures a client must survive, on demand.

A rule fires on matching requests either for the next ``count`` of them or with a
``probability`` (seeded, so runs repeat); with neither it fires on every match until cleared.
Rules without ``path`` match API requests only (not video downloads), so a noisy demo server
still plays its videos; give ``path="/files/"`` to hit downloads. ``path`` is a substring of
the request's path, or with ``exact`` the whole path (``/ent/v2/tasks`` alone is the task list,
not every task's ``/ent/v2/tasks/{id}/creations``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("rate_limit", "server_error", "drop", "drop_after", "slow", "task_failure")
#: Kinds that replace the normal response; the first matching one wins.
_TERMINAL = ("rate_limit", "server_error", "drop", "drop_after")


@dataclass
class FaultRule:
    kind: str
    count: int | None = None
    probability: float | None = None
    method: str | None = None
    path: str | None = None
    retry_after: float = 1.0
    delay: float = 1.0
    err_code: str | tuple[str, ...] = "InternalServiceFailure"
    reason: str = ""
    fired: int = 0
    exact: bool = False

    def matches(self, method: str, path: str, api: bool) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path is None:
            return api
        return self.path == path if self.exact else self.path in path


@dataclass
class Decision:
    """What the server does with one request (built by ``Faults.decide``)."""

    action: str | None = None  # one of _TERMINAL, or None for a normal answer
    rule: FaultRule | None = None
    delay: float = 0.0
    fired: list[str] = field(default_factory=list)


class Faults:
    """Thread-safe, mutable set of fault rules; pass to ``Simulator(faults=...)``."""

    def __init__(
        self,
        rules: list[FaultRule] | None = None,
        *,
        seed: int | None = None,
        rate_429: float = 0.0,
        rate_500: float = 0.0,
        rate_drop: float = 0.0,
        rate_fail: float = 0.0,
        slow: float = 0.0,
    ) -> None:
        """Rules given as objects and/or as probabilities per request (as the CLI flags set)."""
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules or [])
        self._rng = random.Random(seed)
        for kind, rate in (
            ("rate_limit", rate_429),
            ("server_error", rate_500),
            ("drop", rate_drop),
            ("task_failure", rate_fail),
        ):
            if rate:
                self.add(kind, probability=rate)
        if slow:
            self.add("slow", delay=slow)

    def seed(self, seed: int | None) -> None:
        with self._lock:
            self._rng.seed(seed)

    def add(
        self,
        kind: str,
        *,
        count: int | None = None,
        probability: float | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float = 1.0,
        delay: float = 1.0,
        err_code: str | list[str] | tuple[str, ...] = "InternalServiceFailure",
        reason: str = "",
        exact: bool = False,
    ) -> FaultRule:
        """Add a rule; ``err_code`` may be a list to pick from (task_failure)."""
        if kind not in KINDS:
            raise ValueError(f"fault kind {kind!r}: must be one of {', '.join(KINDS)}")
        if count is not None and count < 0:
            raise ValueError(f"count={count}: must be >= 0")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability={probability}: must be within 0..1")
        codes = err_code if isinstance(err_code, str) else tuple(err_code)
        rule = FaultRule(
            kind, count, probability, method, path, retry_after, delay, codes, reason,
            exact=exact,
        )  # fmt: skip
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, kind: str | None = None) -> None:
        """Remove all rules (or all of one kind)."""
        with self._lock:
            self._rules = [r for r in self._rules if kind is not None and r.kind != kind]

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def decide(self, method: str, path: str, *, api: bool = True) -> Decision:
        """Which transport rules fire for one request; consumes counts and random draws."""
        decision = Decision()
        with self._lock:
            for rule in self._rules:
                if rule.kind == "task_failure":
                    continue
                if rule.kind in _TERMINAL and decision.action is not None:
                    continue
                if not rule.matches(method, path, api) or not self._fires(rule):
                    continue
                rule.fired += 1
                decision.fired.append(rule.kind)
                if rule.kind == "slow":
                    decision.delay += rule.delay
                else:
                    decision.action = rule.kind
                    decision.rule = rule
        return decision

    def task_outcome(self, method: str, path: str) -> str | None:
        """For a task that is being created: the err_code it must fail with, or None.

        Asked only once a submit passed validation, so ``count`` means created tasks.
        """
        with self._lock:
            for rule in self._rules:
                if rule.kind != "task_failure" or not rule.matches(method, path, True):
                    continue
                if self._fires(rule):
                    rule.fired += 1
                    codes = rule.err_code
                    return codes if isinstance(codes, str) else self._rng.choice(codes)
        return None

    def _fires(self, rule: FaultRule) -> bool:
        if rule.count is not None:
            if rule.count <= 0:
                return False
            if rule.probability is None or self._rng.random() < rule.probability:
                rule.count -= 1
                return True
            return False
        if rule.probability is not None:
            return self._rng.random() < rule.probability
        return True

    def __repr__(self) -> str:
        kinds = ", ".join(r.kind for r in self.rules)
        return f"Faults([{kinds}])"

"""Reading SQLite's statement trace (``connection.set_trace_callback``): which writes went into
which transaction, so tests can prove "one change, one transaction"."""

from __future__ import annotations

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def distinct(statements: list[str]) -> list[str]:
    """The statements without trigger echoes: Python's trace reports a statement again each
    time one of its triggers runs (the task log's change-numbering triggers), right after it.
    Every write of the log carries a fresh time or value, so a real repeat never follows."""
    return [s for i, s in enumerate(statements) if i == 0 or s != statements[i - 1]]


def transactions(statements: list[str], *, mark_rollback: bool = False) -> list[list[str]]:
    """The writes grouped by transaction; fails on any write outside one, a nested or an
    unfinished transaction. With ``mark_rollback`` a rolled-back group ends with ``ROLLBACK``."""
    groups: list[list[str]] = []
    current: list[str] | None = None
    for sql in (s.strip() for s in distinct(statements)):
        if sql.startswith("BEGIN"):
            assert current is None, "nested transaction"
            current = []
        elif sql in ("COMMIT", "ROLLBACK"):
            assert current is not None
            groups.append(current + ([sql] if mark_rollback and sql == "ROLLBACK" else []))
            current = None
        elif sql.upper().startswith(WRITES):
            assert current is not None, f"write outside a transaction: {sql}"
            current.append(sql)
    assert current is None, "transaction left open"
    return groups

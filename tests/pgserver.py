"""A real PostgreSQL server for the tests: started once per pytest session in a temporary
folder, on a loopback port, and stopped (its folder removed) at the end.

The server refuses to run as root, so when the tests run as root it runs as the ``postgres``
system user (``runuser -u postgres --``); otherwise as the current user. Each test that asks
for a PostgreSQL log gets a database of its own (``CREATE DATABASE``, a copy of the empty
``template0``: fast), so tests never see each other's rows.

Tests needing it skip only when the server's programs are absent and ``CI`` is unset; under CI
a missing PostgreSQL is a failure (``scripts/ensure-postgresql`` installs it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The role the tests connect as (trust authentication on loopback: no password needed).
USER = "vidu"


def bindir() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``: ``$PG_BINDIR``, the PATH, or Debian's layout
    (the newest ``/usr/lib/postgresql/<major>/bin``)."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    majors = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(majors[-1]).parent if majors else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One running ``postgres``; ``database()`` hands out fresh databases as URLs."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="vidu-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:  # the server refuses root: run it as Debian's `postgres` user
            try:
                shutil.chown(self.root, "postgres")
            except LookupError:
                raise RuntimeError(
                    "running as root needs the `postgres` system user to start PostgreSQL "
                    "(Debian's postgresql package makes it)"
                ) from None
            self._as = ["runuser", "-u", "postgres", "--"]
        self._count = 0
        self._lock = threading.Lock()

    def _run(self, *args: str, check: bool = True) -> None:
        subprocess.run([*self._as, *args], check=check, capture_output=True, cwd=self.root)

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust",
            "--no-sync", "--no-instructions", "-E", "UTF8", "--locale", "C",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop",
                    check=False,
                )  # fmt: skip
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        auth = USER if password is None else f"{USER}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def database(self, hint: str = "t") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with self._lock:
            self._count += 1
            name = f"{''.join(c for c in hint.lower() if c.isalnum())[:40]}_{self._count}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop(self, urls: list[str]) -> None:
        """Remove databases a test made (each takes megabytes; a session makes hundreds),
        ending any connection the test left open."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            for url in urls:
                name = url.rsplit("/", 1)[1]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL (skipped without its programs, unless under CI)."""
    found = bindir()
    if found is None or not (found / "pg_ctl").exists():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (scripts/ensure-postgresql installs it)")
        pytest.skip("PostgreSQL is not installed (scripts/ensure-postgresql installs it)")
    server = PostgresServer(found)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r}") from None
    try:
        yield server
    finally:
        server.stop()

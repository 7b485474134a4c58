"""A stand-in S3 service for the shared video store's tests: a moto server process on a
loopback port, reached through a loopback TCP relay that a test can take down (connections
refused, the bucket's contents kept) and bring back on the same port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Relay:
    """A loopback TCP relay to the S3 server: ``down()`` refuses connections (the store is
    unreachable, its contents kept), ``up()`` serves again on the same port."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self.up()

    def up(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        for sock in [*([listener] if listener else []), *self._conns]:
            try:  # wakes the threads blocked in accept() and recv() on them
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:  # the S3 server is stopping
                client.close()
                continue
            self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class S3Server:
    """A moto S3 server process; its recording of requests is the server-side count."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.recording = folder / "requests.jsonl"
        env = dict(os.environ, MOTO_ENABLE_RECORDING="1",
                   MOTO_RECORDER_FILEPATH=str(self.recording))  # fmt: skip
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                requests.get(self.url + "/moto-api/", timeout=1, proxies={"http": ""})
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("the moto server did not start")
        self.relay = Relay(self.port)
        self.endpoint = f"http://127.0.0.1:{self.relay.port}"

    def requests(self, method: str, containing: str) -> list[dict]:
        """The requests of ``method`` whose URL contains ``containing`` (a test's prefix)."""
        if not self.recording.is_file():
            return []
        rows = [json.loads(line) for line in self.recording.read_text().splitlines() if line]
        return [r for r in rows if r["method"] == method and containing in r["url"]]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

"""The API key against a service that echoes it back, and in every encoded form.

A server, a proxy or a wrong base URL may echo the ``Authorization`` header (in an HTML error
page, a JSON ``reason``, a trace id header, a task field). A stub server stands in for such a
remote; nothing it sends back may carry the key into an error, a log record, a task, the task
log (database, WAL, export) or a card. The key is also looked for URL-, HTML-, JSON- and
base64-encoded, and as a prefix (a truncated snippet)."""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import quote, quote_plus

import pytest
from simhelpers import serving

from vidu_nb import Img2VideoRequest, ViduClient, ViduError
from vidu_nb.errors import TaskFailed, ValidationError
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui.card import card_html
from vidu_nb.ui.rows import TaskView

#: Characters that URL-, HTML- and JSON-encode differently; the prefix alone is distinctive.
KEY = "vidu-AUDIT&k<e>y+/=%7e'\"-93c1f0"
PREFIX = KEY[:10]


def leaked_forms(key: str = KEY) -> list[str]:
    b64 = [
        base64.b64encode(text.encode()).decode() for text in (key, f"Token {key}", f"Bearer {key}")
    ]
    return [
        key[:10],
        key,
        html.escape(key),
        quote(key, safe=""),
        quote_plus(key),
        json.dumps(key)[1:-1],
        *b64,
        *(b.rstrip("=") for b in b64),
    ]


def assert_clean(text: str, what: str, key: str = KEY) -> None:
    for form in leaked_forms(key):
        assert form not in text, f"{what} holds the key as {form!r}: ...{text[:400]}"


def error_texts(exc: BaseException) -> str:
    """Everything a user or an error reporter sees of an exception and its chain."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        parts += [str(item), repr(item), repr(item.args), repr(vars(item))]
        todo += [item.__cause__, item.__context__]
    dumped = pickle.dumps(exc)  # errors pickle (a TaskFailed holds its task)...
    parts.append(dumped.decode("latin-1"))  # ...and the pickle holds no key
    parts.append(repr(vars(pickle.loads(dumped))))
    return "\n".join(parts)


class _Echo(BaseHTTPRequestHandler):
    """A hostile remote: every answer quotes the request's Authorization header."""

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: str, ctype: str, **headers: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization", "")
        body = {"task_id": "t-echo", "state": "created", "prompt": auth, "payload": auth,
                "model": "viduq2-turbo", "credits": 4, "note": [auth, {auth: auth}]}  # fmt: skip
        self._answer(200, json.dumps(body), "application/json", x_trace_id=auth)

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        task_id = self.path.split("/")[4]
        if task_id == "html200":  # a captive portal or a wrong base URL: 200, not JSON
            self._answer(200, f"<html><p>welcome, {auth}</p></html>", "text/html")
        elif task_id == "truncated":  # the key straddles the 200-character snippet limit
            self._answer(502, "x" * 185 + auth + "y" * 40, "text/plain")
        elif task_id == "encoded":  # a gateway's error page quoting the header, encoded
            b64 = base64.b64encode(auth.encode()).decode()
            page = (f"<html><title>502 for {html.escape(auth)}</title><a href='/?t="
                    f"{quote(auth, safe='')}&q={quote_plus(auth)}'>{b64}</a></html>")  # fmt: skip
            self._answer(502, page, "text/html")
        elif task_id == "reason":
            body = {"code": 401, "reason": f"Unauthorized {auth}", "message": f"bad {auth}",
                    "metadata": {"trace_id": auth}}  # fmt: skip
            self._answer(401, json.dumps(body), "application/json")
        else:  # the task, failed, with the header in its err_code and a trace header
            body = {"id": task_id, "state": "failed", "err_code": auth, "credits": 0,
                    "payload": auth, "creations": []}  # fmt: skip
            self._answer(200, json.dumps(body), "application/json", x_trace_id=auth)


@pytest.fixture
def echo_url() -> Iterator[str]:
    with serving(_Echo) as url:
        yield url


def test_a_server_echoing_the_key_gets_it_nowhere(echo_url, tmp_path, png_bytes, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 and requests included
    client = ViduClient(KEY, echo_url, max_retries=0)
    errors: list[BaseException] = []
    with TaskLog(tmp_path / "tasks.sqlite") as log:
        request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
        task = client.submit(request)
        log.record_submission(request, task, experiment="echo")
        with pytest.raises(TaskFailed) as failed:
            client.wait(task, timeout=10)
        errors.append(failed.value)
        log.update(failed.value.task, error=failed.value)
        for task_id in ("html200", "truncated", "reason", "encoded"):
            with pytest.raises(ViduError) as info:
                client.get(task_id)
            errors.append(info.value)
        row = log.get("t-echo")
        assert row is not None and row["state"] == "failed"
        parts = card_html(TaskView.of(row), 0.0)
        export = log.to_csv(tmp_path / "tasks.csv")
        frame = log.to_frame().to_json(date_format="iso")
    for exc in errors:
        assert_clean(error_texts(exc), f"{type(exc).__name__}")
    assert "<redacted>" in str(errors[1]) and "<redacted>" in str(errors[3])
    assert_clean(repr(failed.value.task) + repr(failed.value.task.request), "the task")
    assert_clean(json.dumps(parts), "the card")
    assert_clean(frame, "the log's DataFrame")
    assert_clean(export.read_text(encoding="utf-8"), "the CSV export")
    for path in tmp_path.glob("tasks.sqlite*"):  # the database, its WAL and shared memory
        assert_clean(path.read_bytes().decode("latin-1"), path.name)
    records = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("urllib3" in r.name for r in caplog.records)  # the debug logs were captured
    assert_clean("\n".join(records), "the log records")


def test_the_cli_with_debug_prints_no_echoed_key(echo_url, tmp_path):
    """``--debug`` prints DEBUG logs of every library and the traceback on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDU_")}
    env.update(VIDU_API_KEY=KEY, VIDU_BASE_URL=echo_url, HOME=str(tmp_path))
    for task_id in ("reason", "html200", "encoded", "t-echo"):
        proc = subprocess.run(
            [sys.executable, "-m", "vidu_nb.cli", "--debug", "status", task_id],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert "DEBUG urllib3" in proc.stderr, proc.stderr
        if task_id != "t-echo":  # an API error: its traceback too (a failed task is no error)
            assert "Traceback" in proc.stderr, proc.stderr
        else:
            assert "<redacted>" in proc.stdout, proc.stdout  # its err_code, shown scrubbed
        assert_clean(proc.stdout + proc.stderr, f"`vidu-nb --debug status {task_id}`")


@pytest.mark.parametrize("bad", ["\u200b", "\u2019", "\u00e9", "\ufeff"])
def test_a_key_no_header_can_carry_is_refused_without_showing_it(bad, echo_url):
    """A pasted invisible or typographic character made the HTTP layer raise an encoding
    error whose args and repr held the whole ``Authorization`` value."""
    key = KEY + bad
    with pytest.raises(ValidationError) as info:
        ViduClient(key, echo_url).get("t1")
    assert_clean(error_texts(info.value), "the refusal")
    assert "ASCII" in str(info.value)


def test_a_task_bound_to_a_client_pickles_without_it(echo_url):
    task = ViduClient(KEY, echo_url, max_retries=0).get("t-echo")
    assert task._client is not None
    copy = pickle.loads(pickle.dumps(task))
    assert copy == task and copy._client is None
    assert task._client is not None  # the original stays bound
    assert_clean(pickle.dumps(task).decode("latin-1"), "the pickled task")


def test_every_error_survives_a_pickle_round_trip(png_bytes):
    """Errors cross processes (multiprocessing, error reporters) as pickles; most of ours
    could not be rebuilt (``__init__`` takes other arguments than the message) or came back
    with a doubled message."""
    from vidu_nb.simulator import Simulator

    raised: list[ViduError] = []
    with Simulator(speed=200, video_height=64, api_key=KEY) as sim:
        client = ViduClient.for_simulator(sim, max_retries=0)
        for call in (
            lambda: Img2VideoRequest(image=png_bytes, duration=99),
            lambda: ViduClient(KEY + "-wrong", sim.base_url).get("t1"),
            lambda: client.get("no-such-task"),
            lambda: client.wait(client.submit(Img2VideoRequest(image=png_bytes)), timeout=0),
        ):
            with pytest.raises(ViduError) as info:
                call()
            raised.append(info.value)
        sim.faults.add("task_failure", count=1, err_code="AuditSubmitIllegal")
        task = client.submit(Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2))
        with pytest.raises(TaskFailed) as info:
            task.wait(30)
        raised.append(info.value)
    kinds = {type(e).__name__ for e in raised}
    assert kinds == {"ValidationError", "AuthenticationError", "NotFound", "WaitTimeout",
                     "TaskFailed"}  # fmt: skip
    for exc in raised:
        copy = pickle.loads(pickle.dumps(exc))
        assert type(copy) is type(exc) and copy.args == exc.args and str(copy) == str(exc)
        assert vars(copy) == vars(exc)
        assert_clean(error_texts(exc), type(exc).__name__)


def test_a_short_local_key_does_not_blank_ordinary_text(png_bytes):
    """The simulator's default key is a word a prompt may hold; echoes must come back whole."""
    from vidu_nb.simulator import Simulator

    prompt = "a sign that reads sim-key, then fog"
    with Simulator(speed=200, video_height=64) as sim, ViduClient.for_simulator(sim) as client:
        assert sim.api_key == "sim-key"
        task = client.submit(Img2VideoRequest(image=png_bytes, prompt=prompt, duration=1))
        assert task.request.get("prompt") == prompt
        assert client.wait(task, timeout=30).succeeded

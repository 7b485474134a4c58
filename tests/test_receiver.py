"""The callback receiver over real HTTP (its own server, and wsgiref serving ``wsgi_app``) and
as an ASGI app called with hand-built messages: what it accepts and refuses, and that the key
never shows. Requests are signed with the simulator's signer, which is written independently
of the receiver's verifier, so both sides must read the documentation the same way."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from vidu_nb.client.config import Secret
from vidu_nb.client.receiver import CallbackReceiver, Delivery
from vidu_nb.errors import ValidationError
from vidu_nb.simulator.signing import callback_headers

KEY = "cb-receiver-key-5e1f0a9d77"
TASK = {"id": "801", "state": "success", "credits": 40, "err_code": "", "payload": "ref-1",
        "creations": [{"id": "c1", "url": "http://127.0.0.1:1/v.mp4", "cover_url": ""}]}  # fmt: skip
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def run_coroutine(coro):
    """``asyncio.run`` in a thread of its own: an ASGI server runs the app in its own loop, and
    this test process may already have a loop running in the main thread (the browser tests'
    driver leaves one), where ``asyncio.run`` refuses to start."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(asyncio.run(coro)))
    thread.start()
    thread.join(30)
    assert out, "the ASGI app did not finish"
    return out[0]


def post(url: str, body: object, *, key: str = KEY, signed_url: str | None = None,
         now: float | None = None, headers: dict[str, str] | None = None) -> int:  # fmt: skip
    """POST ``body`` to ``url``, signed with ``key`` for ``signed_url`` (default: ``url``)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = callback_headers(key, signed_url or url, now=now) if key else {}
    all_headers.update({"Content-Type": "application/json", **(headers or {})})
    req = urllib.request.Request(url, data=data, headers=all_headers, method="POST")
    try:
        with NO_PROXY.open(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def under_wsgiref(receiver: CallbackReceiver, path: str) -> Iterator[str]:
    """``receiver.wsgi_app`` served by the standard library's reference WSGI server."""
    server = make_server("127.0.0.1", 0, receiver.wsgi_app, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[tuple[CallbackReceiver, list[Delivery]]]:
    got: list[Delivery] = []
    rec = CallbackReceiver(KEY)
    rec.subscribe(got.append)
    with rec.serve():
        yield rec, got


def test_a_signed_task_is_delivered_and_anything_else_refused(receiver):
    rec, got = receiver
    url = rec.url + "?team=a&b=2"
    assert post(url, TASK) == 200
    assert [(d.task.id, d.task.state, d.task.credits) for d in got] == [("801", "success", 40)]
    assert got[0].body == TASK and got[0].task.video_url.endswith("v.mp4")
    refusals = [
        post(url, TASK, key="another-key"),  # forged: signed with the wrong key
        post(url, TASK, key=""),  # not signed at all
        post(url, TASK, now=time.time() - 3600),  # stale: an hour old
        post(url, TASK, now=time.time() + 3600),  # from the future
        post(rec.url + "?b=2&team=a", TASK, signed_url=url),  # the query reordered
        post(rec.url + "/other?team=a&b=2", TASK, signed_url=url),  # another path
    ]
    assert refusals == [401] * 6
    assert len(got) == 1 and rec.stats.unauthorized == 6
    not_tasks = [b"not json", b"[1, 2]", {"state": "success"}, {"id": "9"}, {"id": "9", "state": 3}]
    assert [post(url, body) for body in not_tasks] == [400] * 5
    assert len(got) == 1 and rec.stats.bad_request == 5


def test_the_query_is_verified_exactly_as_written(receiver):
    """Names out of order, repeated and percent-encoded: signed as written, verified so."""
    rec, got = receiver
    url = rec.url + "?z=1&a=%2Fx&a=2&empty="
    assert post(url, TASK) == 200 and len(got) == 1


def test_bodies_are_bounded_and_other_methods_answered(receiver):
    rec, got = receiver
    big = {**TASK, "payload": "x" * (2 << 20)}
    assert post(rec.url, big) == 413
    assert rec.stats.too_large == 1 and not got
    with NO_PROXY.open(rec.url, timeout=5) as resp:  # a reachability check for tunnels
        assert resp.status == 200 and b"callback receiver" in resp.read()
    req = urllib.request.Request(rec.url, data=b"{}", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as err:
        NO_PROXY.open(req, timeout=5)
    assert err.value.code == 405


def test_a_failing_subscriber_makes_the_service_deliver_again(receiver):
    rec, got = receiver
    calls = []

    def flaky(delivery: Delivery) -> None:
        calls.append(delivery)
        if len(calls) == 1:
            raise RuntimeError("log locked")

    rec.subscribe(flaky)
    assert post(rec.url, TASK) == 500  # the service retries final states
    assert post(rec.url, TASK) == 200
    assert len(calls) == 2 and len(got) == 2 and rec.stats.failed == 1


def test_wsgi_app_under_wsgiref():
    got: list[Delivery] = []
    rec = CallbackReceiver(Secret(KEY))
    rec.subscribe(got.append)
    with under_wsgiref(rec, "/hooks/vidu") as url:
        assert post(url + "?k=v", TASK) == 200
        assert post(url + "?k=v", TASK, key="wrong") == 401
        assert post(url, b"{oops") == 400
    assert [d.task.id for d in got] == ["801"]


def test_a_proxy_that_rewrites_the_path_is_fine_with_public_url():
    """JupyterHub's proxy strips ``/user/ann/proxy/8765``: the service signed the public URL."""
    public = "https://hub.example.org/user/ann/proxy/8765/vidu/callback?team=a"
    got: list[Delivery] = []
    with CallbackReceiver(KEY, public_url=public) as rec:
        rec.subscribe(got.append)
        assert rec.callback_url == public
        assert post(rec.url + "?team=a", TASK, signed_url=public) == 200
        assert post(rec.url + "?team=a", TASK, signed_url=public, key="wrong") == 401
    with CallbackReceiver(KEY) as plain:  # without it, the rewritten path does not verify
        assert post(plain.url + "?team=a", TASK, signed_url=public) == 401
    assert len(got) == 1


def test_serve_stop_and_serve_again_on_the_same_port():
    stopped = []
    rec = CallbackReceiver(KEY, path="/cb")
    rec.subscribe(lambda d: None, on_stop=lambda: stopped.append(True))
    assert rec.url is None and rec.callback_url is None and not rec.stopped
    rec.serve()
    port, url = rec.port, rec.url
    assert url == f"http://127.0.0.1:{port}/cb" and post(url, TASK) == 200
    rec.stop()
    assert rec.stopped and stopped == [True] and rec.url is None
    with pytest.raises(urllib.error.URLError):
        NO_PROXY.open(urllib.request.Request(url, data=b"{}", method="POST"), timeout=2)
    rec.serve(port=port)
    try:
        assert rec.url == url and not rec.stopped and post(url, TASK) == 200
    finally:
        rec.stop()
    assert rec.stats.accepted == 2


def test_the_key_never_shows(receiver, caplog):
    rec, _ = receiver
    caplog.set_level(logging.DEBUG)
    post(rec.url, TASK, key="wrong")
    post(rec.url, TASK)
    text = repr(rec) + str(rec.__dict__) + caplog.text
    assert KEY not in text
    for bad in ("", Secret(""), 42):
        with pytest.raises(ValidationError) as err:
            CallbackReceiver(bad)
        assert err.value.field == "key"
    with pytest.raises(ValidationError) as err:
        CallbackReceiver(KEY, public_url="ftp://x")
    assert err.value.field == "public_url" and KEY not in str(err.value)


# -- ASGI, called the way an ASGI server calls it --------------------------------------------
def asgi_call(rec: CallbackReceiver, path: str, query: str, headers: dict[str, str],
              chunks: list[bytes], method: str = "POST") -> tuple[int, bytes]:  # fmt: skip
    scope = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(),
        "query_string": query.encode(), "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    run_coroutine(rec.asgi_app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


def test_asgi_app():
    got: list[Delivery] = []
    rec = CallbackReceiver(KEY)
    rec.subscribe(got.append)
    url = "http://127.0.0.1:9/vidu/callback?x=1&a=b"
    signed = callback_headers(KEY, url)
    data = json.dumps(TASK).encode()
    chunks = [data[:10], data[10:30], data[30:]]  # a body in several messages
    assert asgi_call(rec, "/vidu/callback", "x=1&a=b", signed, chunks)[0] == 200
    assert asgi_call(rec, "/vidu/callback", "a=b&x=1", signed, [data])[0] == 401
    forged = callback_headers("wrong", url)
    assert asgi_call(rec, "/vidu/callback", "x=1&a=b", forged, [data])[0] == 401
    assert asgi_call(rec, "/vidu/callback", "x=1&a=b", signed, [b"[]"])[0] == 400
    huge = [b"x" * (600 << 10)] * 2  # no Content-Length: stopped once past the bound
    assert asgi_call(rec, "/vidu/callback", "x=1&a=b", signed, huge)[0] == 413
    status, body = asgi_call(rec, "/", "", {}, [b""], method="GET")
    assert status == 200 and b"callback receiver" in body
    assert [d.task.state for d in got] == ["success"]

    async def lifespan() -> list[str]:
        messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        out: list[str] = []

        async def receive() -> dict:
            return messages.pop(0)

        async def send(message: dict) -> None:
            out.append(message["type"])

        await rec.asgi_app({"type": "lifespan"}, receive, send)
        return out

    assert run_coroutine(lifespan()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

"""Callback signatures against the official example: the query is signed exactly as written.

The expected signatures are computed here with hmac/hashlib from the documented recipe (and
one is a literal known-answer vector), never with the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from simhelpers import CallbackReceiver, data_uri

from vidu_nb import Img2VideoRequest, ViduClient
from vidu_nb.client.callbacks import (
    callback_headers,
    sign_callback,
    string_to_sign,
    verify_callback,
    verify_callback_environ,
    verify_callback_url,
)
from vidu_nb.simulator import Simulator

# -- the official example, as a known-answer vector -------------------------------------------
KEY = "vidu-example-key-0001"
URL = "http://127.0.0.1:8080/vidu/callback?name=james&age=36"
DATE = "Tue, 03 Jun 2025 08:30:00 GMT"
WHEN = 1748939400.0  # DATE as a timestamp
NONCE = "5f1c2e9a7b3d4c6e8f0a1b2c3d4e5f60"
SIGNED_TEXT = (
    f"POST\n/vidu/callback\nname=james&age=36\nvidu\n{DATE}\nDate:{DATE}\nx-request-nonce:{NONCE}\n"
)
SIGNATURE = "t46ybBe6RhqnXz86JIVYepA9OYUEQMIg7MML1p6XeP8="


def reference_signature(key: str, text: str) -> str:
    """The documented recipe, written out independently of vidu_nb.client.callbacks."""
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode()


def official_text(method: str, path: str, query: str, date: str, nonce: str) -> str:
    return f"{method}\n{path}\n{query}\nvidu\n{date}\nDate:{date}\nx-request-nonce:{nonce}\n"


def test_the_known_answer_vector_is_the_documented_recipe():
    assert reference_signature(KEY, SIGNED_TEXT) == SIGNATURE


def test_official_example_is_signed_as_documented():
    headers = callback_headers(KEY, URL, now=WHEN, nonce=NONCE)
    assert headers["Date"] == DATE
    assert headers["x-request-nonce"] == NONCE
    assert headers["X-HMAC-SIGNED-HEADERS"] == "Date;x-request-nonce"
    assert headers["X-HMAC-ALGORITHM"] == "hmac-sha256"
    assert headers["X-HMAC-ACCESS-KEY"] == "vidu"
    assert string_to_sign("POST", "/vidu/callback", "name=james&age=36", headers) == SIGNED_TEXT
    assert headers["X-HMAC-SIGNATURE"] == SIGNATURE


def test_official_example_verifies():
    headers = callback_headers(KEY, URL, now=WHEN, nonce=NONCE)
    assert verify_callback(KEY, "POST", "/vidu/callback", "name=james&age=36", headers, now=WHEN)
    assert verify_callback_url(KEY, "POST", URL, headers, now=WHEN + 10)
    assert verify_callback_url(KEY, "POST", "/vidu/callback?name=james&age=36", headers, now=WHEN)
    # A hand-written request with the literal signature (as the service would send it).
    sent = {"date": DATE, "X-Request-Nonce": NONCE, "x-hmac-signature": SIGNATURE}
    assert verify_callback_url(KEY, "POST", URL, sent, now=WHEN)


def test_the_old_sorted_form_is_not_what_is_signed():
    headers = callback_headers(KEY, URL, now=WHEN, nonce=NONCE)
    assert not verify_callback(
        KEY, "POST", "/vidu/callback", "age=36&name=james", headers, now=WHEN
    )


@pytest.mark.parametrize(
    ("query", "not_it"),
    [
        ("q=a%20b&x=%2F", ["q=a b&x=/", "q=a+b&x=%2F", "q=a%20b&x=/", "x=%2F&q=a%20b"]),
        ("b=2&a=1", ["a=1&b=2"]),
        ("x=a+b", ["x=a%20b", "x=a b"]),
        ("flag&empty=&x=%7e", ["empty=&flag&x=%7e", "flag=&empty=&x=~", "flag&empty=&x=%7E"]),
    ],
)
def test_queries_are_signed_verbatim(query: str, not_it: list[str]):
    url = f"https://receiver.example/hooks/vidu?{query}"
    headers = callback_headers(KEY, url, now=WHEN, nonce=NONCE)
    expected = reference_signature(KEY, official_text("POST", "/hooks/vidu", query, DATE, NONCE))
    assert headers["X-HMAC-SIGNATURE"] == expected
    assert string_to_sign("POST", "/hooks/vidu", query, headers).split("\n")[2] == query
    assert verify_callback(KEY, "POST", "/hooks/vidu", query, headers, now=WHEN)
    assert verify_callback_url(KEY, "POST", url, headers, now=WHEN)
    for other in not_it:
        assert not verify_callback(KEY, "POST", "/hooks/vidu", other, headers, now=WHEN), other


def test_a_mapping_query_is_encoded_in_its_given_order():
    headers = callback_headers(KEY, "http://h/p?b=2&a=1&s=a+b", now=WHEN, nonce=NONCE)
    assert verify_callback(KEY, "POST", "/p", {"b": "2", "a": "1", "s": "a b"}, headers, now=WHEN)
    assert not verify_callback(
        KEY, "POST", "/p", {"a": "1", "b": "2", "s": "a b"}, headers, now=WHEN
    )


def test_empty_path_and_no_query():
    headers = callback_headers(KEY, "http://127.0.0.1:8080", now=WHEN, nonce=NONCE)
    expected = reference_signature(KEY, official_text("POST", "/", "", DATE, NONCE))
    assert headers["X-HMAC-SIGNATURE"] == expected
    assert verify_callback_url(KEY, "POST", "http://127.0.0.1:8080/", headers, now=WHEN)
    assert verify_callback(KEY, "POST", "", None, headers, now=WHEN)
    assert sign_callback(KEY, "POST", "/", "", headers) == sign_callback(
        KEY, "POST", "", None, headers
    )


# -- what verification refuses ----------------------------------------------------------------
def resigned(headers: dict[str, str], path: str = "/vidu/callback", query: str = "") -> dict:
    """``headers`` with a correct signature over whatever they now say (a forger with the key:
    only the checks other than the HMAC can refuse it)."""
    out = dict(headers)
    out["X-HMAC-SIGNATURE"] = sign_callback(KEY, "POST", path, query, out)
    return out


def test_tampered_requests_are_refused():
    headers = callback_headers(KEY, URL, now=WHEN, nonce=NONCE)
    path, query = "/vidu/callback", "name=james&age=36"
    assert not verify_callback(KEY, "POST", "/vidu/callback2", query, headers, now=WHEN)
    assert not verify_callback(KEY, "POST", path, "name=james&age=37", headers, now=WHEN)
    assert not verify_callback(KEY, "PUT", path, query, headers, now=WHEN)
    assert not verify_callback("another-key", "POST", path, query, headers, now=WHEN)
    later = {**headers, "Date": "Tue, 03 Jun 2025 08:30:01 GMT"}
    assert not verify_callback(KEY, "POST", path, query, later, now=WHEN)
    other_nonce = {**headers, "x-request-nonce": "0" * 32}
    assert not verify_callback(KEY, "POST", path, query, other_nonce, now=WHEN)
    unsigned = {k: v for k, v in headers.items() if k != "X-HMAC-SIGNATURE"}
    assert not verify_callback(KEY, "POST", path, query, unsigned, now=WHEN)


def test_the_body_is_not_signed():
    # The signed text has no body line: the same headers verify whatever the body says, so a
    # receiver must not trust a body it has not matched to a verified request.
    headers = callback_headers(KEY, URL, now=WHEN, nonce=NONCE)
    assert "james" in string_to_sign("POST", "/vidu/callback", "name=james&age=36", headers)
    assert "{" not in string_to_sign("POST", "/vidu/callback", "name=james&age=36", headers)


def test_dates_too_old_or_in_the_future_are_refused():
    query = "name=james&age=36"
    for offset, ok in ((-301, False), (-299, True), (299, True), (301, False), (3600, False)):
        headers = callback_headers(KEY, URL, now=WHEN + offset, nonce=NONCE)
        got = verify_callback(KEY, "POST", "/vidu/callback", query, headers, now=WHEN)
        assert got is ok, offset
    future = callback_headers(KEY, URL, now=WHEN + 3600, nonce=NONCE)
    assert verify_callback_url(KEY, "POST", URL, future, now=WHEN, max_skew=7200)


def test_missing_or_unparseable_dates_are_refused():
    base = callback_headers(KEY, URL, now=WHEN, nonce=NONCE)
    query = "name=james&age=36"
    no_date = resigned({k: v for k, v in base.items() if k != "Date"}, query=query)
    assert not verify_callback(KEY, "POST", "/vidu/callback", query, no_date, now=WHEN)
    for text in ("", "yesterday", "Tue, 99 Jun 2025 08:30:00 GMT", "1748939400"):
        bad = resigned({**base, "Date": text}, query=query)
        assert not verify_callback(KEY, "POST", "/vidu/callback", query, bad, now=WHEN), text


def test_signed_headers_must_include_date_and_be_present():
    base = callback_headers(KEY, URL, now=WHEN, nonce=NONCE)
    query = "name=james&age=36"
    nonce_only = resigned({**base, "X-HMAC-SIGNED-HEADERS": "x-request-nonce"}, query=query)
    assert not verify_callback(KEY, "POST", "/vidu/callback", query, nonce_only, now=WHEN)
    absent = resigned({**base, "X-HMAC-SIGNED-HEADERS": "Date;x-extra"}, query=query)
    assert not verify_callback(KEY, "POST", "/vidu/callback", query, absent, now=WHEN)
    date_only = resigned({**base, "X-HMAC-SIGNED-HEADERS": "date"}, query=query)
    assert verify_callback(KEY, "POST", "/vidu/callback", query, date_only, now=WHEN)


def test_a_wrong_algorithm_is_refused():
    headers = callback_headers(KEY, URL, now=WHEN, nonce=NONCE)
    for algorithm in ("hmac-sha1", "none", "sha256"):
        bad = {**headers, "X-HMAC-ALGORITHM": algorithm}
        assert not verify_callback_url(KEY, "POST", URL, bad, now=WHEN), algorithm
    assert verify_callback_url(KEY, "POST", URL, {**headers, "x-hmac-algorithm": "HMAC-SHA256"},
                               now=WHEN)  # fmt: skip


# -- receivers --------------------------------------------------------------------------------
def wsgi_environ(path: str, query: str, headers: dict[str, str], **extra: str) -> dict:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": query, **extra}
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def test_wsgi_environ_uses_the_raw_query_string():
    url = "http://127.0.0.1:8080/vidu/callback?q=a%20b&x=%2F"
    headers = callback_headers(KEY, url, now=WHEN, nonce=NONCE)
    environ = wsgi_environ("/vidu/callback", "q=a%20b&x=%2F", headers)
    assert verify_callback_environ(KEY, environ, now=WHEN)
    assert not verify_callback_environ(KEY, {**environ, "QUERY_STRING": "q=a b&x=/"}, now=WHEN)
    assert not verify_callback_environ(KEY, {**environ, "PATH_INFO": "/other"}, now=WHEN)


def test_wsgi_environ_prefers_the_raw_request_uri_for_encoded_paths():
    url = "http://127.0.0.1:8080/hooks/a%2Fb?x=1"
    headers = callback_headers(KEY, url, now=WHEN, nonce=NONCE)
    decoded = wsgi_environ("/hooks/a/b", "x=1", headers)  # what PATH_INFO says
    assert not verify_callback_environ(KEY, decoded, now=WHEN)
    assert verify_callback_environ(KEY, {**decoded, "RAW_URI": "/hooks/a%2Fb?x=1"}, now=WHEN)
    spaced = callback_headers(KEY, "http://h/my%20hook", now=WHEN, nonce=NONCE)
    assert verify_callback_environ(KEY, wsgi_environ("/my hook", "", spaced), now=WHEN)


def test_client_verifies_with_its_own_key():
    with ViduClient(KEY, "http://127.0.0.1:9") as client:
        headers = callback_headers(KEY, URL)
        assert client.verify_callback("POST", "/vidu/callback", "name=james&age=36", headers)
        assert client.verify_callback_url("POST", URL, headers)
        assert not client.verify_callback_url("POST", URL, callback_headers("x", URL))
        assert client.requests_sent == 0


def test_simulator_callbacks_to_an_encoded_query_verify_end_to_end():
    """The simulator signs the URL it was given; a real receiver checks the request line."""
    with Simulator(speed=200, seed=3) as sim, CallbackReceiver() as receiver:
        url = receiver.url + "&q=a%20b&x=%2F&z=a+b"
        request = Img2VideoRequest(image=data_uri(), duration=1, callback_url=url)
        with ViduClient.for_simulator(sim) as client:
            client.submit(request).wait(timeout=20)
            deadline = time.monotonic() + 5
            while len(receiver.received) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(receiver.received) >= 2
            for got in receiver.received:
                assert got.query == "team=a&b=2&q=a%20b&x=%2F&z=a+b"
                assert client.verify_callback_url("POST", f"{got.path}?{got.query}", got.headers)
                assert client.verify_callback("POST", got.path, got.query, got.headers)
                assert not client.verify_callback("POST", got.path, "b=2&team=a", got.headers)

"""Service text reaches the UI's HTML only escaped: a refused cancel's message and reason, an
err_code, a state name, a trace id, a refused submission, in cards, sweep progress and the
credits view. A stand-in service gives the hostile answers the simulator never would."""

from __future__ import annotations

import re

import pytest
from ui_standin import StandIn, stand_in
from waiting import until

from vidu_nb import Img2VideoRequest, ViduClient
from vidu_nb.request.sweep import SweepPlan
from vidu_nb.tracking.poller import Poller
from vidu_nb.ui import credits_view, form
from vidu_nb.ui.card import TaskCard
from vidu_nb.ui.session import Session
from vidu_nb.ui.sweeps import SweepRun

IMG = "<img src=x onerror=alert(1)>"
REASON = "Bad<script>alert(2)</script>Request"
TRACE = "tr-<svg onload=alert(3)>"
#: Markup our own code writes; anything else in an HTML value must have come in escaped.
OURS = re.compile(
    r"</?(b|i|br|pre|span)( class='[a-z0-9 _-]+')?( title='[^'<>]*')?>|&[a-z#0-9]+;", re.IGNORECASE
)


def only_our_markup(html: str) -> bool:
    return "<" not in OURS.sub("", html)


def refusal(message: str = IMG) -> tuple[int, dict]:
    body = {"code": 400, "reason": REASON, "message": message, "metadata": {"trace_id": TRACE}}
    return 400, body


@pytest.fixture
def stand():
    with stand_in() as s:
        yield s


def client_of(stand: StandIn) -> ViduClient:
    return ViduClient("sk-standin-0123456789", stand.url, max_retries=0)


def card_html_of(card: TaskCard) -> list[str]:
    return [card._header.value, card._steps.value, card._details.value, card._error.value]


def test_a_refused_cancel_shows_the_service_message_escaped_on_the_card(stand, log, png_bytes):
    client = client_of(stand)
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2, off_peak=True)
    task = client.submit(request)
    log.record_submission(request, task)
    card = TaskCard(task.id, log=log, client=client)
    assert card._cancel.layout.display is None  # an unfinished off-peak task: cancellable
    stand.cancel = refusal()
    card.cancel()
    assert stand.count("POST", "/cancel") == 1
    error = card._error.value
    assert "cancel:" in error  # the refusal is on the card...
    assert "&lt;img src=x onerror=alert(1)&gt;" in error  # ...its message as text
    assert "Bad&lt;script&gt;alert(2)&lt;/script&gt;Request" in error  # the reason too
    assert "tr-&lt;svg onload=alert(3)&gt;" in error  # and the trace id support asks for
    for part in card_html_of(card):
        assert only_our_markup(part), part
    assert not card._cancel.disabled  # it may be tried again


def test_err_code_state_and_trace_ids_from_the_service_are_escaped(stand, log, png_bytes):
    client = client_of(stand)
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    task = client.submit(request)
    log.record_submission(request, task)
    stand.tasks[task.id] = {"state": "failed", "err_code": IMG}
    log.update(client.get(task.id))
    failed = TaskCard(task.id, log=log, client=client)
    assert "&lt;img src=x" in failed._error.value
    second = client.submit(request)
    log.record_submission(request, second)
    stand.tasks[second.id] = {"state": IMG}  # a state a hostile service made up
    log.update(client.get(second.id))
    odd = TaskCard(second.id, log=log, client=client)
    assert "&lt;img" in odd._header.value and "&lt;img" in odd._steps.value
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", c) for c in odd._dom_classes)
    for card in (failed, odd):
        for part in card_html_of(card):
            assert only_our_markup(part), part
    # The sweep progress names the states it counts.
    run = SweepRun(SweepPlan([request, request]), Session(client, log), "exp")
    run.handles.extend([task.id, second.id])
    run.update()
    assert "&lt;img" in run.text.value and only_our_markup(run.text.value)
    table = credits_view(log, by="state").children[0].value
    assert "&lt;img" in table and "<img" not in table


def test_a_refused_submission_shows_message_reason_and_trace_id_escaped(stand, log, png_bytes):
    stand.submit = refusal()
    client = client_of(stand)
    with Poller(client, log) as poller:
        f = form(client, log, poller)
        f.state.image_data = png_bytes
        f.state.model, f.state.duration = "viduq2-turbo", 2
        card = f.submit()
        assert until(lambda: card.view.done)
    assert card.view.state == "failed"
    error = card._error.value
    assert "&lt;img src=x" in error and "tr-&lt;svg" in error and "&lt;script&gt;" in error
    for part in [*card_html_of(card), f.status.value]:
        assert only_our_markup(part), part
